#!/usr/bin/env python3
"""What moto holds of a topology, read with boto3 (a client independent of
deploy's own): one line per resource, "KIND ID [STATE] NAME-TAG", for
resources tagged deploy:topology=NAME, and the key pair deploy-NAME.

usage: aws-query.py ENDPOINT REGION NAME
(credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
"""
import os
import sys

import boto3

ep, region, name = sys.argv[1:4]
ec2 = boto3.client("ec2", endpoint_url=ep, region_name=region,
                   aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                   aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
flt = [{"Name": "tag:deploy:topology", "Values": [name]}]


def tag(obj, key):
    for t in obj.get("Tags", []):
        if t["Key"] == key:
            return t["Value"]
    return "-"


out = []
for page in ec2.get_paginator("describe_instances").paginate(Filters=flt):
    for r in page["Reservations"]:
        for i in r["Instances"]:
            out.append("instance %s %s %s %s" % (
                i["InstanceId"], i["State"]["Name"], tag(i, "deploy:host"),
                i.get("InstanceType")))
for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]:
    out.append("security-group %s %s %s" % (g["GroupId"], g["GroupName"],
                                            tag(g, "deploy:resource")))
    for p in g.get("IpPermissions", []):
        for src in ([x["GroupId"] for x in p.get("UserIdGroupPairs", [])] +
                    [x["CidrIp"] for x in p.get("IpRanges", [])] +
                    [x["CidrIpv6"] for x in p.get("Ipv6Ranges", [])]):
            out.append("rule %s %s %s-%s %s" % (
                g["GroupName"], p["IpProtocol"], p.get("FromPort"),
                p.get("ToPort"), src))
for v in ec2.describe_vpcs(Filters=flt)["Vpcs"]:
    out.append("vpc %s %s" % (v["VpcId"], v["CidrBlock"]))
for s in ec2.describe_subnets(Filters=flt)["Subnets"]:
    out.append("subnet %s %s" % (s["SubnetId"], s["AvailabilityZone"]))
for g in ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]:
    out.append("internet-gateway %s" % g["InternetGatewayId"])
for t in ec2.describe_route_tables(Filters=flt)["RouteTables"]:
    out.append("route-table %s" % t["RouteTableId"])
for a in ec2.describe_addresses(Filters=flt)["Addresses"]:
    out.append("address %s %s %s" % (a["AllocationId"], a["PublicIp"],
                                      a.get("InstanceId", "-")))
for k in ec2.describe_key_pairs()["KeyPairs"]:
    if k["KeyName"] == "deploy-" + name:
        out.append("key-pair %s" % k["KeyName"])
for line in sorted(out):
    print(line)
