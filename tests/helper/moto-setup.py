#!/usr/bin/env python3
"""Make the IAM user the AWS tests sign with, on a moto_server started
with INITIAL_NO_AUTH_ACTION_COUNT: the first calls (these) go unsigned,
every later one must carry a valid SigV4 signature. Prints
"ACCESS_KEY SECRET_KEY".

usage: moto-setup.py ENDPOINT_URL
"""
import json
import sys

import boto3

ep = sys.argv[1]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id="bootstrap",
                   aws_secret_access_key="bootstrap")
iam.create_user(UserName="deploy-test")
key = iam.create_access_key(UserName="deploy-test")["AccessKey"]
iam.put_user_policy(
    UserName="deploy-test", PolicyName="all",
    PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }))
print(key["AccessKeyId"], key["SecretAccessKey"])
