/* SPDX-License-Identifier: MIT */
/* topology/inventory: Ansible INI and YAML inventories for ssh roles. */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/inventory.h"
#include "topology/topology.h"
#include "util/buf.h"

struct parsed {
	struct inventory *inv;
	struct diag_list dl;
	struct inventory_host *hosts;
	size_t nr;
	struct error err;
	int rc; /* of the last group() */
};

static void parse(struct parsed *p, const char *file, const char *text)
{
	memset(p, 0, sizeof(*p));
	diag_list_init(&p->dl);
	error_init(&p->err);
	assert_int_equal(
		inventory_parse(file, text, strlen(text), &p->inv, &p->dl), 0);
	diag_list_sort(&p->dl);
}

/* The hosts of a group, in p->hosts (replacing the last answer). */
static void group(struct parsed *p, const char *name)
{
	free(p->hosts);
	error_clear(&p->err);
	p->rc = inventory_group_hosts(p->inv, name, &p->hosts, &p->nr, &p->dl,
				      &p->err);
}

static void done(struct parsed *p)
{
	free(p->hosts);
	inventory_free(p->inv);
	diag_list_free(&p->dl);
	error_clear(&p->err);
}

static void print_diags(const struct diag_list *dl)
{
	for (size_t i = 0; i < dl->nr; i++)
		fprintf(stderr, "  have %s:%d:%d: %s\n", dl->items[i].file,
			dl->items[i].line, dl->items[i].col, dl->items[i].msg);
}

static void expect_no_diags(const struct parsed *p)
{
	if (p->dl.nr)
		print_diags(&p->dl);
	assert_int_equal(p->dl.nr, 0);
}

/* "FILE:LINE:COL: MESSAGE" of diagnostic i, for exact comparisons. */
static void expect_diag(const struct parsed *p, size_t i, const char *want)
{
	char have[1024];

	if (i >= p->dl.nr) {
		print_diags(&p->dl);
		fail_msg("no diagnostic %zu", i);
	}
	snprintf(have, sizeof(have), "%s:%d:%d: %s", p->dl.items[i].file,
		 p->dl.items[i].line, p->dl.items[i].col, p->dl.items[i].msg);
	if (strcmp(have, want))
		print_diags(&p->dl);
	assert_string_equal(have, want);
}

static const char *var(const struct inventory_host *h, const char *name)
{
	const struct ynode *n = ynode_get(h->vars, name);

	return n ? n->value : NULL;
}

/* Every name of the last answer, joined by spaces. */
static void expect_names(const struct parsed *p, const char *want)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < p->nr; i++)
		buf_addf(&b, "%s%s", i ? " " : "", p->hosts[i].name);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

/* INI */

static void test_ini_groups_hosts_and_connection_vars(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "# validators of the main net\n"
	      "lonely.example.org\n"
	      "\n"
	      "[validators]\n"
	      "val-1 ansible_host=198.51.100.10 ansible_user=debian\n"
	      "val-2 ansible_host=198.51.100.11 ansible_port=2202 "
	      "ansible_ssh_private_key_file=~/.ssh/val\n"
	      "[sentries]\n"
	      "198.51.100.20:2222\n");
	expect_no_diags(&p);
	group(&p, "validators");
	assert_int_equal(p.rc, 0);
	expect_names(&p, "val-1 val-2");
	assert_string_equal(p.hosts[0].address, "198.51.100.10");
	assert_string_equal(p.hosts[0].user, "debian");
	assert_int_equal(p.hosts[0].port, 0);
	assert_null(p.hosts[0].key);
	assert_null(p.hosts[0].vars);
	assert_int_equal(p.hosts[0].node->line, 5);
	assert_int_equal(p.hosts[0].node->col, 1);
	assert_int_equal(p.hosts[1].port, 2202);
	assert_string_equal(p.hosts[1].key, "~/.ssh/val");
	assert_null(p.hosts[1].user);
	group(&p, "sentries");
	expect_names(&p, "198-51-100-20");
	assert_string_equal(p.hosts[0].inventory_name, "198.51.100.20");
	assert_string_equal(p.hosts[0].address, "198.51.100.20");
	assert_int_equal(p.hosts[0].port, 2222);
	group(&p, "ungrouped");
	expect_names(&p, "lonely-example-org");
	assert_string_equal(p.hosts[0].address, "lonely.example.org");
	group(&p, "all");
	expect_names(&p, "lonely-example-org val-1 val-2 198-51-100-20");
	expect_no_diags(&p);
	done(&p);
}

static void test_ini_names_become_dns_labels(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[web]\n"
	      "Node1.Example.ORG\n"
	      "node_2.example.org\n"
	      "web-3 ansible_host=10.0.0.3\n");
	group(&p, "web");
	assert_int_equal(p.rc, 0);
	expect_names(&p, "node1-example-org web-3");
	assert_string_equal(p.hosts[0].address, "Node1.Example.ORG");
	assert_string_equal(p.hosts[0].inventory_name, "Node1.Example.ORG");
	assert_string_equal(p.hosts[1].address, "10.0.0.3");
	expect_diag(&p, 0,
		    "hosts.ini:3:1: host name 'node_2.example.org' cannot "
		    "become a deploy host name: 'node_2-example-org' is not a "
		    "DNS label (1 to 63 lowercase letters, digits and '-', not "
		    "starting or ending with '-'); rename the host in the "
		    "inventory");
	assert_int_equal(p.dl.nr, 1);
	done(&p);
}

static void
test_ini_precedence_host_over_child_over_parent_over_all(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[all:vars]\n"
	      "a=all\nb=all\nc=all\nd=all\n"
	      "[eu:children]\n"
	      "fra\n"
	      "[eu:vars]\n"
	      "b=eu\nc=eu\nd=eu\n"
	      "[fra]\n"
	      "f1 d=host\n"
	      "[fra:vars]\n"
	      "c=fra\nd=fra\n");
	expect_no_diags(&p);
	group(&p, "eu");
	assert_int_equal(p.rc, 0);
	expect_names(&p, "f1");
	assert_string_equal(var(&p.hosts[0], "a"), "all");
	assert_string_equal(var(&p.hosts[0], "b"), "eu");
	assert_string_equal(var(&p.hosts[0], "c"), "fra");
	assert_string_equal(var(&p.hosts[0], "d"), "host");
	/* The map keeps the order names first came in. */
	assert_string_equal(p.hosts[0].vars->pairs[0].key->value, "a");
	assert_string_equal(p.hosts[0].vars->pairs[3].key->value, "d");
	/* Each value keeps where it was written. */
	assert_int_equal(ynode_get(p.hosts[0].vars, "c")->line, 15);
	assert_int_equal(ynode_get(p.hosts[0].vars, "c")->col, 3);
	done(&p);
}

static void test_ini_siblings_by_priority_then_name(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[beta]\nh1\nh2\n[alpha]\nh1\nh2\n[gamma]\nh2\n"
	      "[beta:vars]\nx=beta\n"
	      "[alpha:vars]\nx=alpha\n"
	      "[gamma:vars]\nx=gamma\nansible_group_priority=0\n");
	expect_no_diags(&p);
	group(&p, "alpha");
	expect_names(&p, "h1 h2");
	/* Same depth: by name, the later one wins. */
	assert_string_equal(var(&p.hosts[0], "x"), "beta");
	/* gamma comes before alpha and beta: its priority is lower. */
	assert_string_equal(var(&p.hosts[1], "x"), "beta");
	assert_null(var(&p.hosts[1], "ansible_group_priority"));
	done(&p);
}

static void test_ini_children_are_recursive_and_hosts_listed_once(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[world:children]\n"
	      "europe\n"
	      "america\n"
	      "[europe:children]\n"
	      "fra\n"
	      "ams\n"
	      "[fra]\nfra-1\nshared\n"
	      "[ams]\nams-1\n"
	      "[america]\nnyc-1\nshared\n");
	expect_no_diags(&p);
	group(&p, "world");
	expect_names(&p, "fra-1 shared ams-1 nyc-1");
	group(&p, "europe");
	expect_names(&p, "fra-1 shared ams-1");
	group(&p, "ungrouped");
	assert_int_equal(p.rc, DEPLOY_ERR_INVALID);
	assert_string_equal(p.err.msg,
			    "group 'ungrouped' in inventory 'hosts.ini' has no "
			    "hosts");
	done(&p);
}

static void test_ini_children_cycle_is_reported_and_cut(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n[c]\nc1\n"
	      "[a]\na1\n");
	expect_diag(&p, 0,
		    "hosts.ini:6:1: children cycle: a -> b -> c -> a (each "
		    "group lists the next among its children); remove one of "
		    "these");
	assert_int_equal(p.dl.nr, 1);
	group(&p, "a");
	expect_names(&p, "a1 c1");
	group(&p, "c");
	expect_names(&p, "c1");
	done(&p);
}

static void test_ini_ranges(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[num]\nnode[08:11].example.org\n"
	      "[alpha]\ndb-[a:c]\n"
	      "[step]\nweb[0:20:10]\n"
	      "[two]\nr[1:2]-d[x:y]\n"
	      "[open]\nn[:2]\n");
	expect_no_diags(&p);
	group(&p, "num");
	expect_names(&p,
		     "node08-example-org node09-example-org node10-example-org "
		     "node11-example-org");
	group(&p, "alpha");
	expect_names(&p, "db-a db-b db-c");
	group(&p, "step");
	expect_names(&p, "web0 web10 web20");
	group(&p, "two");
	expect_names(&p, "r1-dx r1-dy r2-dx r2-dy");
	group(&p, "open");
	expect_names(&p, "n0 n1 n2");
	done(&p);
}

static void test_ini_bad_ranges_name_the_line(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[g]\n"
	      "n[3:1]\n"
	      "n[01:9]\n"
	      "  n[1:]\n"
	      "n[a:3]\n"
	      "n[1:2:0]\n"
	      "n[1:2\n"
	      "n[0:99999]\n"
	      "n[1:2:3:4]\n");
	expect_diag(&p, 0,
		    "hosts.ini:2:1: bad host range in 'n[3:1]': the range "
		    "[3:1] runs backwards");
	expect_diag(&p, 1,
		    "hosts.ini:3:1: bad host range in 'n[01:9]': [01:9]: with "
		    "leading zeros, begin and end need the same width");
	expect_diag(&p, 2,
		    "hosts.ini:4:3: bad host range in 'n[1:]': a range needs "
		    "an end, as in [1:9]");
	expect_diag(&p, 3,
		    "hosts.ini:5:1: bad host range in 'n[a:3]': [a:3] is not a "
		    "range of numbers or of single letters");
	expect_diag(&p, 4,
		    "hosts.ini:6:1: bad host range in 'n[1:2:0]': the step "
		    "'0' is not a number from 1");
	expect_diag(&p, 5,
		    "hosts.ini:7:1: bad host range in 'n[1:2': '[' without "
		    "']'");
	expect_diag(&p, 6,
		    "hosts.ini:8:1: bad host range in 'n[0:99999]': it expands "
		    "to more than 10000 hosts");
	expect_diag(&p, 7,
		    "hosts.ini:9:1: bad host range in 'n[1:2:3:4]': a range is "
		    "[BEGIN:END] or [BEGIN:END:STEP], not '[1:2:3:4]'");
	assert_int_equal(p.dl.nr, 8);
	done(&p);
}

static void test_ini_quoting_and_comments(void **state)
{
	struct parsed p;
	const struct inventory_host *h;

	(void)state;
	parse(&p, "hosts.ini",
	      "; a comment\n"
	      "[g]\n"
	      "h1 motd=\"hello world\" path='/srv/a b' "
	      "esc=a\\ b say=\"\\\"hi\\\"\" mid=a\"b c\"d # trailing\n"
	      "h2 n=5 s='5' t=True e= f=x#y\n"
	      "  # indented comment\n");
	expect_no_diags(&p);
	group(&p, "g");
	h = &p.hosts[0];
	assert_string_equal(var(h, "motd"), "hello world");
	assert_string_equal(var(h, "path"), "/srv/a b");
	assert_string_equal(var(h, "esc"), "a b");
	assert_string_equal(var(h, "say"), "\"hi\"");
	assert_string_equal(var(h, "mid"), "ab cd");
	assert_false(ynode_get(h->vars, "motd")->plain);
	assert_int_equal(ynode_get(h->vars, "motd")->col, 9);
	h = &p.hosts[1];
	assert_true(ynode_is_number(ynode_get(h->vars, "n")));
	assert_true(ynode_is_string(ynode_get(h->vars, "s")));
	assert_string_equal(ynode_describe(ynode_get(h->vars, "t")),
			    "a boolean");
	assert_string_equal(var(h, "e"), "");
	assert_true(ynode_is_string(ynode_get(h->vars, "e")));
	assert_string_equal(var(h, "f"), "x");
	assert_int_equal(h->vars->nr, 5);
	done(&p);
}

static void test_ini_group_vars_lines(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[g]\nh1\n"
	      "[g:vars]\n"
	      "plain = some words\n"
	      "quoted=\"  padded \"\n"
	      "ansible_user = ops\n");
	expect_no_diags(&p);
	group(&p, "g");
	assert_string_equal(var(&p.hosts[0], "plain"), "some words");
	assert_string_equal(var(&p.hosts[0], "quoted"), "  padded ");
	assert_int_equal(ynode_get(p.hosts[0].vars, "plain")->col, 9);
	assert_string_equal(p.hosts[0].user, "ops");
	done(&p);
}

static void test_ini_errors_name_file_line_and_column(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "inv/hosts.ini",
	      "[validators]\n"
	      "val-1 ansible_host=198.51.100.10 rack\n"
	      "val-2 motd=\"unclosed\n"
	      "[web servers]\n"
	      "ignored after a bad header\n"
	      "[db:hostz]\n"
	      "[validators:vars]\n"
	      "just words\n"
	      "[all:children]\n"
	      "validatrs\n"
	      "bad:name\n"
	      "[sentry:vars]\n"
	      "x=1\n"
	      "[validators]\n"
	      "val-3 ansible_port=99999 ansible_user=Admin bad-name=1\n"
	      "val-4 ansible_host=not_an_address ansible_ssh_pass=secret\n");
	expect_diag(&p, 0,
		    "inv/hosts.ini:2:34: bad host line: expected KEY=VALUE "
		    "after the host, not 'rack'");
	expect_diag(&p, 1,
		    "inv/hosts.ini:3:12: bad host line: no closing quotation");
	expect_diag(&p, 2,
		    "inv/hosts.ini:4:1: bad section header '[web servers]': "
		    "write [GROUP], [GROUP:vars] or [GROUP:children], with no "
		    "spaces in the group name");
	expect_diag(&p, 3,
		    "inv/hosts.ini:6:5: unknown section type 'hostz': write "
		    "[db], [db:vars] or [db:children]");
	expect_diag(&p, 4,
		    "inv/hosts.ini:8:1: bad line in [validators:vars]: "
		    "expected KEY=VALUE, not 'just words'");
	expect_diag(&p, 5,
		    "inv/hosts.ini:10:1: group 'validatrs' is not defined in "
		    "the inventory (did you mean 'validators'?)");
	expect_diag(&p, 6,
		    "inv/hosts.ini:11:1: bad line in [all:children]: expected "
		    "a group name, not 'bad:name'");
	expect_diag(&p, 7,
		    "inv/hosts.ini:12:2: group 'sentry' is not defined in the "
		    "inventory: add a [sentry] section");
	expect_diag(&p, 8,
		    "inv/hosts.ini:15:20: ansible_port must be a port from 1 "
		    "to 65535, not '99999'");
	expect_diag(&p, 9,
		    "inv/hosts.ini:15:39: ansible_user 'Admin' is not a user "
		    "name: lowercase letters, digits, '_' and '-', starting "
		    "with a letter or '_'");
	expect_diag(&p, 10,
		    "inv/hosts.ini:15:45: variable name 'bad-name' is not "
		    "valid: use letters, digits and '_', not starting with a "
		    "digit");
	expect_diag(&p, 11,
		    "inv/hosts.ini:16:20: ansible_host 'not_an_address' is "
		    "neither an IP address nor a host name");
	expect_diag(&p, 12,
		    "inv/hosts.ini:16:35: 'ansible_ssh_pass' is ignored: "
		    "deploy logs in with keys and keeps passwords out of "
		    "inventories (see 'secrets' in docs/topology.md)");
	assert_int_equal(p.dl.items[12].level, DIAG_WARNING);
	assert_int_equal(p.dl.nr, 13);
	/* The good hosts are still there; bad values fall back. */
	group(&p, "validators");
	expect_names(&p, "val-3 val-4");
	assert_int_equal(p.hosts[0].port, 0);
	assert_null(p.hosts[0].user);
	assert_string_equal(p.hosts[1].address, "val-4");
	assert_null(p.hosts[1].vars);
	done(&p);
}

static void test_ini_older_ssh_names_win_as_in_ansible(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[all:vars]\n"
	      "ansible_ssh_host=192.0.2.1\n"
	      "ansible_ssh_port=2200\n"
	      "ansible_ssh_user=old\n"
	      "[g]\n"
	      "h ansible_host=192.0.2.2 ansible_port=2201 ansible_user=new "
	      "ansible_private_key_file=k1\n");
	expect_no_diags(&p);
	group(&p, "g");
	assert_string_equal(p.hosts[0].address, "192.0.2.1");
	assert_int_equal(p.hosts[0].port, 2200);
	assert_string_equal(p.hosts[0].user, "old");
	assert_string_equal(p.hosts[0].key, "k1");
	assert_null(p.hosts[0].vars);
	done(&p);
}

static void test_ini_ports_and_ipv6(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini",
	      "[g]\n"
	      "a.example.org:2222\n"
	      "[2001:db8::1]:2223 ansible_host=2001:db8::1\n"
	      "b ansible_port=2224\n"
	      "c:2225 ansible_port=2226\n"
	      "d:0\n"
	      "2001:db8::2\n");
	expect_diag(&p, 0,
		    "hosts.ini:6:1: bad host 'd:0': the port is not from 1 to "
		    "65535");
	group(&p, "g");
	expect_names(&p, "a-example-org b c");
	assert_int_equal(p.hosts[0].port, 2222);
	assert_int_equal(p.hosts[1].port, 2224);
	assert_int_equal(p.hosts[2].port, 2226);
	expect_diag(&p, 1,
		    "hosts.ini:3:1: host name '2001:db8::1' is not a DNS label "
		    "(1 to 63 lowercase letters, digits and '-', not starting "
		    "or ending with '-'); rename the host in the inventory");
	done(&p);
}

static void test_missing_group_lists_the_groups_there_are(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.ini", "[validators]\nv1\n[sentries]\ns1\n[empty]\n");
	group(&p, "validator");
	assert_int_equal(p.rc, DEPLOY_ERR_NOT_FOUND);
	assert_string_equal(p.err.msg,
			    "group 'validator' is not in inventory 'hosts.ini' "
			    "(did you mean 'validators'?); its groups: "
			    "validators, sentries, empty");
	group(&p, "monitoring");
	assert_string_equal(p.err.msg,
			    "group 'monitoring' is not in inventory "
			    "'hosts.ini'; its groups: validators, sentries, "
			    "empty");
	group(&p, "empty");
	assert_int_equal(p.rc, DEPLOY_ERR_INVALID);
	assert_string_equal(p.err.msg,
			    "group 'empty' in inventory 'hosts.ini' has no "
			    "hosts");
	done(&p);
	parse(&p, "hosts.ini", "# nothing yet\n");
	group(&p, "validators");
	assert_string_equal(p.err.msg,
			    "group 'validators' is not in inventory "
			    "'hosts.ini'; it has no groups besides 'all'");
	done(&p);
}

static void test_ini_limits(void **state)
{
	struct parsed p;
	struct buf text = BUF_INIT;

	(void)state;
	parse(&p, "hosts.ini", "[a]\nn[1:6000]\n[b]\nm[1:6000]\n");
	expect_diag(&p, 0,
		    "hosts.ini:4:1: more than 10000 hosts in the inventory; "
		    "split it");
	group(&p, "a");
	assert_int_equal(p.rc, DEPLOY_ERR_SYNTAX);
	done(&p);
	for (int i = 0; i < 11; i++)
		buf_addf(&text, "[g%d]\nn[1:10000]\n", i);
	parse(&p, "hosts.ini", text.data);
	expect_diag(&p, 0,
		    "hosts.ini:22:1: more than 100000 host names in the "
		    "inventory's groups once ranges are expanded; split it");
	done(&p);
	buf_free(&text);
}

static void test_script_and_nul_are_refused(void **state)
{
	struct parsed p;
	static const char nul[] = "[g]\nh1\nh\0 2\n";

	(void)state;
	parse(&p, "inventory.py", "#!/usr/bin/env python3\nprint('{}')\n");
	expect_diag(&p, 0,
		    "inventory.py:1:1: this inventory is a script: deploy "
		    "reads static INI and YAML inventories and does not run "
		    "inventory scripts");
	group(&p, "all");
	assert_int_equal(p.rc, DEPLOY_ERR_SYNTAX);
	done(&p);
	memset(&p, 0, sizeof(p));
	diag_list_init(&p.dl);
	inventory_parse("hosts", nul, sizeof(nul) - 1, &p.inv, &p.dl);
	expect_diag(&p, 0, "hosts:3:2: NUL byte in the inventory");
	done(&p);
}

/* YAML */

static const char yaml_inventory[] =
	"all:\n"					     /* 1 */
	"  vars:\n"					     /* 2 */
	"    chain: icon\n"				     /* 3 */
	"    tier: all\n"				     /* 4 */
	"  hosts:\n"					     /* 5 */
	"    lonely.example.org:\n"			     /* 6 */
	"  children:\n"					     /* 7 */
	"    validators:\n"				     /* 8 */
	"      hosts:\n"				     /* 9 */
	"        val-1:\n"				     /* 10 */
	"          ansible_host: 198.51.100.10\n"	     /* 11 */
	"          ansible_port: 2202\n"		     /* 12 */
	"          tier: host\n"			     /* 13 */
	"        val-[2:3]:\n"				     /* 14 */
	"      vars:\n"					     /* 15 */
	"        tier: validators\n"			     /* 16 */
	"        peers: [a, b]\n"			     /* 17 */
	"    sentries:\n"				     /* 18 */
	"      children:\n"				     /* 19 */
	"        sentries_eu:\n"			     /* 20 */
	"          hosts: {sen-eu-1: {ansible_user: ops}}\n" /* 21 */
	"      hosts:\n"				     /* 22 */
	"        sen-1:\n";				     /* 23 */

static void test_yaml_groups_children_and_vars(void **state)
{
	struct parsed p;
	const struct ynode *peers;

	(void)state;
	parse(&p, "hosts.yml", yaml_inventory);
	expect_no_diags(&p);
	group(&p, "validators");
	expect_names(&p, "val-1 val-2 val-3");
	assert_string_equal(p.hosts[0].address, "198.51.100.10");
	assert_int_equal(p.hosts[0].port, 2202);
	assert_string_equal(var(&p.hosts[0], "tier"), "host");
	assert_string_equal(var(&p.hosts[0], "chain"), "icon");
	assert_string_equal(var(&p.hosts[1], "tier"), "validators");
	assert_string_equal(p.hosts[1].address, "val-2");
	assert_int_equal(p.hosts[1].node->line, 14);
	assert_int_equal(p.hosts[1].node->col, 9);
	peers = ynode_get(p.hosts[1].vars, "peers");
	assert_int_equal(peers->kind, YNODE_SEQ);
	assert_int_equal(peers->line, 17);
	assert_int_equal(peers->col, 16);
	group(&p, "sentries");
	expect_names(&p, "sen-1 sen-eu-1");
	assert_string_equal(p.hosts[1].user, "ops");
	assert_string_equal(var(&p.hosts[1], "tier"), "all");
	group(&p, "ungrouped");
	expect_names(&p, "lonely-example-org");
	done(&p);
}

static void test_yaml_errors_have_positions(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.yaml",
	      "all:\n"
	      "  hots:\n"
	      "    a:\n"
	      "  children:\n"
	      "    web:\n"
	      "      hosts: [w1, w2]\n"
	      "    db:\n"
	      "      hosts:\n"
	      "        d1: [x]\n"
	      "        d2: {ansible_port: [1], 9bad: 1}\n"
	      "      vars: 3\n"
	      "      color: blue\n"
	      "    cache: [c1]\n");
	expect_diag(&p, 0,
		    "hosts.yaml:2:3: unknown key 'hots' in group 'all' (did "
		    "you mean 'hosts'?)");
	expect_diag(&p, 1,
		    "hosts.yaml:6:14: hosts of group 'web' are a mapping of "
		    "host names (each followed by ':'), not a list");
	expect_diag(&p, 2,
		    "hosts.yaml:9:13: host 'd1' takes a mapping of variables "
		    "or nothing, not a list");
	expect_diag(&p, 3,
		    "hosts.yaml:10:28: ansible_port must be a single value, "
		    "not a list");
	expect_diag(&p, 4,
		    "hosts.yaml:10:33: variable name '9bad' is not valid: use "
		    "letters, digits and '_', not starting with a digit");
	expect_diag(&p, 5,
		    "hosts.yaml:11:13: vars of group 'db' are a mapping, not a "
		    "number");
	expect_diag(&p, 6,
		    "hosts.yaml:12:7: unknown key 'color' in group 'db': a "
		    "group has hosts, vars and children");
	expect_diag(&p, 7,
		    "hosts.yaml:13:12: group 'cache' is a mapping of hosts, "
		    "vars and children, not a list");
	assert_int_equal(p.dl.nr, 8);
	done(&p);
}

static void test_yaml_syntax_error_and_wrong_root(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "hosts.yml", "all:\n  hosts:\n    a: {x: 1\n");
	assert_int_equal(p.dl.nr, 1);
	assert_string_equal(p.dl.items[0].file, "hosts.yml");
	assert_int_equal(p.dl.items[0].line, 4);
	group(&p, "all");
	assert_int_equal(p.rc, DEPLOY_ERR_SYNTAX);
	done(&p);
	parse(&p, "hosts.yml", "- a\n- b\n");
	expect_diag(&p, 0,
		    "hosts.yml:1:1: a YAML inventory is a mapping of groups "
		    "(all: {hosts: ..., children: ...}), not a list");
	done(&p);
	parse(&p, "hosts.yml",
	      "all:\n  children:\n    a: {children: {b: {children: {a: "
	      "}}}}\n");
	expect_diag(&p, 0,
		    "hosts.yml:3:35: children cycle: a -> b -> a (each group "
		    "lists the next among its children); remove one of these");
	done(&p);
}

static void test_form_is_sniffed_without_an_extension(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "inventory", "# YAML\n---\nall:\n  hosts: {h1: }\n");
	expect_no_diags(&p);
	group(&p, "all");
	expect_names(&p, "h1");
	done(&p);
	parse(&p, "inventory", "\n; INI\nh1:2222\n[g]\nh2\n");
	expect_no_diags(&p);
	group(&p, "all");
	expect_names(&p, "h1 h2");
	done(&p);
	parse(&p, "hosts", "\xef\xbb\xbf[web]\nw1 a=1\n");
	expect_no_diags(&p);
	group(&p, "web");
	expect_names(&p, "w1");
	done(&p);
	parse(&p, "inventory", "webservers:\n  hosts:\n    w1:\n");
	expect_no_diags(&p);
	group(&p, "webservers");
	expect_names(&p, "w1");
	done(&p);
}

/* Through the topology */

/* These tests run in a scratch directory of their own, so that files are
 * named as an operator in the topology's directory sees them. */
struct scratch {
	char dir[64];
	char cwd[4096];
};

static void scratch_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

struct loaded {
	struct topology *t;
	struct diag_list dl;
	struct error err;
	int rc;
};

static void load(struct loaded *l, const char *yml)
{
	scratch_file("t.yml", yml);
	diag_list_init(&l->dl);
	error_init(&l->err);
	l->rc = topology_load("t.yml", &l->t, &l->dl, &l->err);
}

static void unload(struct loaded *l)
{
	topology_free(l->t);
	diag_list_free(&l->dl);
	error_clear(&l->err);
}

/* Diagnostic i as "FILE:LINE:COL: MESSAGE". */
static void expect_ldiag(const struct loaded *l, size_t i, const char *want)
{
	char have[1024];
	const struct diag *d;

	if (i >= l->dl.nr) {
		print_diags(&l->dl);
		fail_msg("no diagnostic %zu", i);
	}
	d = &l->dl.items[i];
	snprintf(have, sizeof(have), "%s:%d:%d: %s", d->file, d->line, d->col,
		 d->msg);
	if (strcmp(have, want))
		print_diags(&l->dl);
	assert_string_equal(have, want);
}

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));

	snprintf(s->dir, sizeof(s->dir), "/tmp/deploy-inv.XXXXXX");
	if (!getcwd(s->cwd, sizeof(s->cwd)) || !mkdtemp(s->dir) ||
	    chdir(s->dir))
		return -1;
	*state = s;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	static const char *const names[] = { "t.yml",	  "hosts.ini",
					     "hosts.yml", "other.ini",
					     "big.ini",	  NULL };
	int rc;

	for (const char *const *n = names; *n; n++)
		unlink(*n);
	rc = chdir(s->cwd) || rmdir(s->dir) ? -1 : 0;
	free(s);
	return rc;
}

#define HEAD "version: 1\nname: t\nssh: {user: admin, key: ~/.ssh/k}\n"

static void test_roles_take_groups_from_one_inventory(void **state)
{
	(void)state;
	struct loaded l;
	const struct role *r;
	const struct host *h;

	scratch_file("hosts.ini",
		     "[validators]\n"
		     "val-1 ansible_host=198.51.100.10\n"
		     "val-2.example.org ansible_port=2202 ansible_user=debian "
		     "node_role=backup\n"
		     "[sentries]\n"
		     "sen-[1:3]\n");
	load(&l, HEAD "roles:\n"
		      "  validators: {provider: ssh, inventory: hosts.ini}\n"
		      "  sentry:\n"
		      "    provider: ssh\n"
		      "    inventory: ./hosts.ini\n"
		      "    group: sentries\n"
		      "    after: [validators]\n");
	if (l.dl.nr)
		print_diags(&l.dl);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.t->nr_hosts, 5);
	r = topology_find_role(l.t, "validators");
	assert_int_equal(r->nr_hosts, 2);
	assert_int_equal(r->count, 2);
	assert_string_equal(r->inventory, "hosts.ini");
	assert_string_equal(r->group, "validators");
	h = &r->hosts[0];
	assert_string_equal(h->name, "val-1");
	assert_string_equal(h->address, "198.51.100.10");
	assert_int_equal(h->port, 22);
	assert_string_equal(h->user, "admin");
	assert_string_equal(h->key, "~/.ssh/k");
	assert_int_equal(h->index, 0);
	assert_string_equal(h->file, "hosts.ini");
	assert_int_equal(h->node->line, 2);
	h = topology_find_host(l.t, "val-2-example-org");
	assert_non_null(h);
	assert_string_equal(h->address, "val-2.example.org");
	assert_int_equal(h->port, 2202);
	assert_string_equal(h->user, "debian");
	assert_string_equal(ynode_get(h->vars, "node_role")->value, "backup");
	assert_int_equal(h->index, 1);
	r = topology_find_role(l.t, "sentry");
	assert_string_equal(r->group, "sentries");
	assert_int_equal(r->nr_hosts, 3);
	assert_string_equal(r->hosts[2].name, "sen-3");
	/* One inventory, read once, for both roles. */
	assert_int_equal(l.t->nr_inventories, 1);
	unload(&l);
}

static void test_inventory_errors_are_reported_once_at_their_file(void **state)
{
	(void)state;
	struct loaded l;

	scratch_file("hosts.ini",
		     "[validators]\nval-1\nval-1 rack\n[sentries]\nsen-1\n");
	load(&l, HEAD
	     "roles:\n"
	     "  validators: {provider: ssh, inventory: hosts.ini}\n"
	     "  sentries: {provider: ssh, inventory: hosts.ini, bad: 1}\n");
	assert_int_equal(l.rc, DEPLOY_ERR_INVALID);
	/* The topology's first, then the inventory's. */
	expect_ldiag(&l, 0, "t.yml:6:51: unknown key 'bad' in roles.sentries");
	expect_ldiag(&l, 1,
		     "hosts.ini:3:7: bad host line: expected KEY=VALUE after "
		     "the host, not 'rack'");
	assert_int_equal(l.dl.nr, 2);
	unload(&l);
}

static void test_inventory_and_hosts_rules(void **state)
{
	(void)state;
	struct loaded l;

	unlink("hosts.ini");
	load(&l,
	     HEAD "roles:\n"
		  "  a: {provider: ssh, inventory: hosts.ini}\n"
		  "  b: {provider: ssh, hosts: [{name: b1, address: 10.0.0.1}],"
		  " inventory: hosts.ini}\n"
		  "  c: {provider: ssh}\n"
		  "  d: {provider: ssh, hosts: [{name: d1, address: 10.0.0.2}],"
		  " group: x}\n"
		  "  e: {provider: local, inventory: hosts.ini, group: x}\n");
	expect_ldiag(&l, 0,
		     "t.yml:5:33: inventory 'hosts.ini' cannot be read: No "
		     "such file or directory");
	expect_ldiag(&l, 1,
		     "t.yml:6:62: role 'b' has both 'hosts' and 'inventory': "
		     "keep one of them");
	expect_ldiag(&l, 2,
		     "t.yml:7:3: role 'c' uses provider 'ssh' and lists no "
		     "hosts: add 'hosts: [{name: c-1, address: ADDRESS}]' or "
		     "'inventory: hosts.ini'");
	expect_ldiag(&l, 3,
		     "t.yml:8:62: 'group' applies only with 'inventory' (the "
		     "inventory group whose hosts the role takes)");
	expect_ldiag(&l, 4,
		     "t.yml:9:35: 'inventory' applies only to provider 'ssh'; "
		     "provider 'local' creates this role's hosts (use "
		     "'count')");
	expect_ldiag(&l, 5,
		     "t.yml:9:53: 'group' applies only to provider 'ssh'; "
		     "provider 'local' creates this role's hosts (use "
		     "'count')");
	assert_int_equal(l.dl.nr, 6);
	unload(&l);
}

static void test_missing_group_is_reported_where_it_was_asked(void **state)
{
	(void)state;
	struct loaded l;

	scratch_file("hosts.yml",
		     "all:\n  children:\n    validators: {hosts: {v1: }}\n");
	load(&l, HEAD "roles:\n"
		      "  validator: {provider: ssh, inventory: hosts.yml}\n"
		      "  sentry: {provider: ssh, inventory: hosts.yml, group: "
		      "sentries}\n");
	expect_ldiag(&l, 0,
		     "t.yml:5:41: group 'validator' is not in inventory "
		     "'hosts.yml' (did you mean 'validators'?); its groups: "
		     "validators; a role takes the group named like it unless "
		     "'group' names another");
	expect_ldiag(&l, 1,
		     "t.yml:6:56: group 'sentries' is not in inventory "
		     "'hosts.yml'; its groups: validators");
	unload(&l);
}

static void test_host_names_are_unique_across_files(void **state)
{
	(void)state;
	struct loaded l;

	scratch_file("hosts.ini", "[a]\nweb-1\n[b]\nweb-2\n\nweb-1\n");
	scratch_file("other.ini", "[c]\nweb-2\n");
	load(&l, HEAD "roles:\n"
		      "  a: {provider: ssh, inventory: hosts.ini}\n"
		      "  b: {provider: ssh, inventory: hosts.ini}\n"
		      "  c: {provider: ssh, inventory: other.ini}\n"
		      "  d: {provider: ssh, hosts: [{name: web-2, address: "
		      "10.0.0.1}]}\n");
	assert_int_equal(l.rc, DEPLOY_ERR_INVALID);
	expect_ldiag(&l, 0,
		     "t.yml:8:30: host name 'web-2' is used twice (first at "
		     "hosts.ini:4:1)");
	expect_ldiag(&l, 1,
		     "hosts.ini:6:1: host name 'web-1' is used twice (first at "
		     "line 2, column 1)");
	expect_ldiag(&l, 2,
		     "other.ini:2:1: host name 'web-2' is used twice (first at "
		     "hosts.ini:4:1)");
	assert_int_equal(l.dl.nr, 3);
	unload(&l);
}

static void test_topology_host_limit_counts_inventory_hosts(void **state)
{
	(void)state;
	struct loaded l;

	scratch_file("big.ini", "[many]\nn[0:9000]\n");
	load(&l, HEAD "providers: {local: {}}\nroles:\n"
		      "  created: {provider: local, count: 1000}\n"
		      "  many: {provider: ssh, inventory: big.ini}\n");
	expect_ldiag(&l, 0,
		     "t.yml:7:3: role 'many' takes the topology past 10000 "
		     "hosts; split it into several topologies");
	assert_int_equal(l.dl.nr, 1);
	unload(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ini_groups_hosts_and_connection_vars),
		cmocka_unit_test(test_ini_names_become_dns_labels),
		cmocka_unit_test(
			test_ini_precedence_host_over_child_over_parent_over_all),
		cmocka_unit_test(test_ini_siblings_by_priority_then_name),
		cmocka_unit_test(
			test_ini_children_are_recursive_and_hosts_listed_once),
		cmocka_unit_test(test_ini_children_cycle_is_reported_and_cut),
		cmocka_unit_test(test_ini_ranges),
		cmocka_unit_test(test_ini_bad_ranges_name_the_line),
		cmocka_unit_test(test_ini_quoting_and_comments),
		cmocka_unit_test(test_ini_group_vars_lines),
		cmocka_unit_test(test_ini_errors_name_file_line_and_column),
		cmocka_unit_test(test_ini_older_ssh_names_win_as_in_ansible),
		cmocka_unit_test(test_ini_ports_and_ipv6),
		cmocka_unit_test(test_missing_group_lists_the_groups_there_are),
		cmocka_unit_test(test_ini_limits),
		cmocka_unit_test(test_script_and_nul_are_refused),
		cmocka_unit_test(test_yaml_groups_children_and_vars),
		cmocka_unit_test(test_yaml_errors_have_positions),
		cmocka_unit_test(test_yaml_syntax_error_and_wrong_root),
		cmocka_unit_test(test_form_is_sniffed_without_an_extension),
		cmocka_unit_test_setup_teardown(
			test_roles_take_groups_from_one_inventory,
			scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(
			test_inventory_errors_are_reported_once_at_their_file,
			scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_inventory_and_hosts_rules,
						scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(
			test_missing_group_is_reported_where_it_was_asked,
			scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(
			test_host_names_are_unique_across_files, scratch_setup,
			scratch_teardown),
		cmocka_unit_test_setup_teardown(
			test_topology_host_limit_counts_inventory_hosts,
			scratch_setup, scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
