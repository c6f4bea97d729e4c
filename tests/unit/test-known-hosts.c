/* SPDX-License-Identifier: MIT */
/* ssh/known_hosts and keyfile: matching, hashed names, the key policy. */
#include "cmocka-setup.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssh/keyfile.h"
#include "ssh/known_hosts.h"
#include "util/base64.h"
#include "util/buf.h"

/* Keys made with ssh-keygen for these tests only. */
#define K1 \
	"AAAAC3NzaC1lZDI1NTE5AAAAIPTUmMMHzYeZK7dE5pfvvhDc3XsmkszClLQjwfXmO+cc"
#define K1_FP "SHA256:fDMJ7Ka+pedvoCPHTVCalfrPO8MXdrDaH1nPUcsKNIQ"
#define K2 \
	"AAAAC3NzaC1lZDI1NTE5AAAAII8nr5mkY9MwTMPaIF5PqH7iomP/0vEbQLNVa7Z8BxdM"
#define K2_FP "SHA256:F67+A28LhBR9+U/jSLoFpCrbPH+0VN2SZyG6NeWsi8M"
#define K4 \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHPQTYSyYcT8btcLltF3U8ebYmttGAotcvUazA9KDtdxd9RN8ViZHCRdVvW3+n7SsSEQo/ENyll8RtIFLrMdN64="
#define K4_FP "SHA256:HgKbNcgMDVJX+ylBWBNrw/dhWrirWYQQQB0qTSaD0Zw"
/* `ssh-keygen -H` of "127.0.0.1 K1" and "[127.0.0.2]:2222 K2". */
#define HASHED_1 "|1|qHMb7FYsjBHGn5XlZ0I7ioR6oGI=|g/C1BSHoUqva34/4RlpTXZc6+n4="
#define HASHED_2 "|1|8glvlZDoyidNk/LilfJka6uVBGE=|QaRLBJ5ggU5JD0eji5+G6JaYKzs="

static struct buf blob_of(const char *b64)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(base64_decode(&b, b64, strlen(b64)), 0);
	return b;
}

static struct known_hosts *parse(const char *text)
{
	struct known_hosts *kh = NULL;
	struct error err;

	error_init(&err);
	assert_int_equal(known_hosts_parse("kh", text, strlen(text), &kh, &err),
			 0);
	return kh;
}

static enum kh_status check(const struct known_hosts *kh, const char *host,
			    int port, const char *b64, struct kh_check *c)
{
	struct kh_check local;
	struct buf b = blob_of(b64);

	if (!c)
		c = &local;
	known_hosts_check(kh, host, port, b.data, b.len, c);
	buf_free(&b);
	return c->status;
}

static void test_base64_round_trips_and_refuses_junk(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(base64_encode(&b, "ab", 2, true), 0);
	assert_string_equal(b.data, "YWI=");
	buf_reset(&b);
	assert_int_equal(base64_encode(&b, "ab", 2, false), 0);
	assert_string_equal(b.data, "YWI");
	buf_reset(&b);
	assert_int_equal(base64_decode(&b, "YWJj", 4), 0);
	assert_string_equal(b.data, "abc");
	buf_reset(&b);
	assert_int_equal(base64_decode(&b, "YWI", 3), 0);
	assert_string_equal(b.data, "ab");
	buf_reset(&b);
	assert_int_equal(base64_decode(&b, "YW I=", 5), DEPLOY_ERR_SYNTAX);
	assert_int_equal(base64_decode(&b, "Y", 1), DEPLOY_ERR_SYNTAX);
	assert_int_equal(base64_decode(&b, "YWJ=", 4), DEPLOY_ERR_SYNTAX);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_fingerprints_are_as_ssh_keygen_prints_them(void **state)
{
	char fp[KH_FINGERPRINT_SIZE], type[KH_TYPE_SIZE];
	struct buf b = blob_of(K1);

	(void)state;
	known_hosts_fingerprint(b.data, b.len, fp);
	assert_string_equal(fp, K1_FP);
	assert_true(known_hosts_blob_type(b.data, b.len, type, sizeof(type)));
	assert_string_equal(type, "ssh-ed25519");
	assert_string_equal(known_hosts_type_label(type), "ED25519");
	buf_free(&b);
	b = blob_of(K4);
	known_hosts_fingerprint(b.data, b.len, fp);
	assert_string_equal(fp, K4_FP);
	assert_true(known_hosts_blob_type(b.data, b.len, type, sizeof(type)));
	assert_string_equal(known_hosts_type_label(type), "ECDSA");
	buf_free(&b);
}

static void test_plain_lines_comments_and_bad_lines(void **state)
{
	struct known_hosts *kh =
		parse("# a comment\n"
		      "\n"
		      "   \t\n"
		      "web1,10.0.0.1 ssh-ed25519 " K1 " a comment\n"
		      "broken-line-with-no-key\n"
		      "web9 ssh-ed25519 !!notbase64!!\n"
		      "web8 ssh-rsa " K1 "\n" /* type differs from the blob's */
		      "@cert-authority *.example.com ssh-ed25519 " K2 "\n"
		      "@unknown web2 ssh-ed25519 " K2 "\n"
		      "web3 ssh-ed25519 " K2 "\r\n");

	(void)state;
	assert_int_equal(known_hosts_count(kh), 2);
	assert_int_equal(check(kh, "web1", 22, K1, NULL), KH_MATCH);
	assert_int_equal(check(kh, "10.0.0.1", 22, K1, NULL), KH_MATCH);
	assert_int_equal(check(kh, "WEB1", 22, K1, NULL), KH_MATCH);
	assert_int_equal(check(kh, "web3", 22, K2, NULL), KH_MATCH);
	/* Certificate authorities are not host keys. */
	assert_int_equal(check(kh, "x.example.com", 22, K2, NULL),
			 KH_NOT_FOUND);
	assert_int_equal(check(kh, "web2", 22, K2, NULL), KH_NOT_FOUND);
	known_hosts_free(kh);
}

static void test_ports_other_than_22_are_bracketed(void **state)
{
	struct known_hosts *kh = parse("[10.0.0.1]:2222 ssh-ed25519 " K1 "\n"
				       "10.0.0.1 ssh-ed25519 " K2 "\n");
	char name[64];

	(void)state;
	known_hosts_name("10.0.0.1", 2222, name, sizeof(name));
	assert_string_equal(name, "[10.0.0.1]:2222");
	known_hosts_name("10.0.0.1", 22, name, sizeof(name));
	assert_string_equal(name, "10.0.0.1");
	assert_int_equal(check(kh, "10.0.0.1", 2222, K1, NULL), KH_MATCH);
	assert_int_equal(check(kh, "10.0.0.1", 22, K2, NULL), KH_MATCH);
	assert_int_equal(check(kh, "10.0.0.1", 2223, K1, NULL), KH_NOT_FOUND);
	known_hosts_free(kh);
}

static void test_hashed_entries_match_their_host_only(void **state)
{
	struct known_hosts *kh =
		parse(HASHED_1 " ssh-ed25519 " K1 "\n" HASHED_2
			       " ssh-ed25519 " K2 "\n"
			       "|1|bad|entry ssh-ed25519 " K1 "\n");

	(void)state;
	assert_int_equal(known_hosts_count(kh), 2);
	assert_int_equal(check(kh, "127.0.0.1", 22, K1, NULL), KH_MATCH);
	assert_int_equal(check(kh, "127.0.0.2", 2222, K2, NULL), KH_MATCH);
	assert_int_equal(check(kh, "127.0.0.2", 22, K2, NULL), KH_NOT_FOUND);
	assert_int_equal(check(kh, "127.0.0.3", 22, K1, NULL), KH_NOT_FOUND);
	known_hosts_free(kh);
}

static void test_wildcards_and_negation(void **state)
{
	struct known_hosts *kh =
		parse("*.example.com,!bad.example.com ssh-ed25519 " K1 "\n"
		      "node?? ssh-ed25519 " K2 "\n");

	(void)state;
	assert_int_equal(check(kh, "a.example.com", 22, K1, NULL), KH_MATCH);
	assert_int_equal(check(kh, "bad.example.com", 22, K1, NULL),
			 KH_NOT_FOUND);
	assert_int_equal(check(kh, "node01", 22, K2, NULL), KH_MATCH);
	assert_int_equal(check(kh, "node1", 22, K2, NULL), KH_NOT_FOUND);
	known_hosts_free(kh);
}

static void test_changed_other_type_and_revoked_keys(void **state)
{
	struct known_hosts *kh = parse("web1 ssh-ed25519 " K1 "\n"
				       "web2 ecdsa-sha2-nistp256 " K4 "\n"
				       "@revoked * ssh-ed25519 " K2 "\n");
	struct kh_check c;
	char types[128];

	(void)state;
	assert_int_equal(check(kh, "web1", 22, K2, &c), KH_REVOKED);
	assert_int_equal(c.line, 3);
	assert_int_equal(check(kh, "web1", 22, K4, &c), KH_OTHER_TYPE);
	assert_string_equal(c.known_type, "ssh-ed25519");
	assert_string_equal(c.known_fingerprint, K1_FP);
	assert_int_equal(c.line, 1);
	known_hosts_free(kh);
	kh = parse("web1 ssh-ed25519 " K1 "\n");
	assert_int_equal(check(kh, "web1", 22, K2, &c), KH_CHANGED);
	assert_string_equal(c.known_fingerprint, K1_FP);
	/* A second line with the right key makes it known (as in ssh). */
	known_hosts_free(kh);
	kh = parse("web1 ssh-ed25519 " K2 "\nweb1 ssh-ed25519 " K1 "\n"
		   "web1 ecdsa-sha2-nistp256 " K4 "\n");
	assert_int_equal(check(kh, "web1", 22, K1, NULL), KH_MATCH);
	known_hosts_types(kh, "web1", 22, types, sizeof(types));
	assert_string_equal(types, "ssh-ed25519,ecdsa-sha2-nistp256");
	known_hosts_types(kh, "web2", 22, types, sizeof(types));
	assert_string_equal(types, "");
	known_hosts_free(kh);
}

static char *read_all(const char *path)
{
	struct buf b;

	buf_init(&b, 0);
	if (buf_read_file(&b, path)) {
		buf_free(&b);
		return NULL;
	}
	return buf_release(&b);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* known_hosts_verify() with one subject and key; err.msg says why. */
static int verify(struct known_hosts *kh, const char *label, int port,
		  const char *pinned, bool strict, const char *b64,
		  struct kh_verify *v, struct error *err)
{
	struct kh_subject s = {
		.label = label,
		.host = "10.0.0.5",
		.port = port,
		.pinned = pinned,
		.strict = strict,
	};
	struct buf b = blob_of(b64);
	int rc;

	error_clear(err);
	error_init(err);
	rc = known_hosts_verify(kh, &s, b.data, b.len, v, err);
	buf_free(&b);
	return rc;
}

static void test_one_host_key_policy_and_its_words(void **state)
{
	struct known_hosts *kh =
		parse("[10.0.0.5]:2222 ssh-ed25519 " K1 "\n"
		      "@revoked 10.0.0.5 ecdsa-sha2-nistp256 " K4 "\n");
	struct kh_verify v;
	struct error err;

	(void)state;
	error_init(&err);
	/* Known: accepted, nothing added. */
	assert_int_equal(verify(kh, "web-1", 2222, NULL, true, K1, &v, &err),
			 0);
	assert_int_equal(v.verdict, KH_VERDICT_MATCH);
	assert_string_equal(v.fingerprint, K1_FP);
	assert_false(known_hosts_dirty(kh));

	/* Changed: both fingerprints, the line, the way out; the subject
	 * with a label (the engine) and without (a git server). */
	assert_int_equal(verify(kh, "web-1", 2222, NULL, false, K2, &v, &err),
			 DEPLOY_ERR_HOST_KEY);
	assert_int_equal(v.verdict, KH_VERDICT_CHANGED);
	assert_int_equal(v.line, 1);
	assert_string_equal(v.known_fingerprint, K1_FP);
	assert_string_equal(v.fingerprint, K2_FP);
	assert_string_equal(
		err.msg,
		"host key of 'web-1' ([10.0.0.5]:2222) has changed: kh:1 has "
		"ED25519 key " K1_FP ", the host presented ED25519 key " K2_FP
		"; if the host was reinstalled, remove the old key with: "
		"ssh-keygen -R '[10.0.0.5]:2222' -f kh");
	assert_int_equal(verify(kh, NULL, 2222, NULL, false, K2, &v, &err),
			 DEPLOY_ERR_HOST_KEY);
	assert_string_equal(
		err.msg,
		"host key of [10.0.0.5]:2222 has changed: kh:1 has ED25519 key " K1_FP
		", the host presented ED25519 key " K2_FP
		"; if the host was reinstalled, remove the old key with: "
		"ssh-keygen -R '[10.0.0.5]:2222' -f kh");
	/* Another type than the known one: the same words. */
	assert_int_equal(verify(kh, NULL, 2222, NULL, false, K4, &v, &err),
			 DEPLOY_ERR_HOST_KEY);
	assert_int_equal(v.verdict, KH_VERDICT_CHANGED);
	assert_string_equal(
		err.msg,
		"host key of [10.0.0.5]:2222 has changed: kh:1 has ED25519 key " K1_FP
		", the host presented ECDSA key " K4_FP
		"; if the host was reinstalled, remove the old key with: "
		"ssh-keygen -R '[10.0.0.5]:2222' -f kh");
	/* Revoked: refused wherever it shows up. */
	assert_int_equal(verify(kh, "web-2", 22, NULL, false, K4, &v, &err),
			 DEPLOY_ERR_HOST_KEY);
	assert_int_equal(v.verdict, KH_VERDICT_REVOKED);
	assert_string_equal(
		err.msg, "host key of 'web-2' (10.0.0.5) is revoked in kh:2: "
			 "ECDSA key " K4_FP);
	assert_false(known_hosts_dirty(kh));

	/* Unknown under strict: refused, nothing added. */
	assert_int_equal(verify(kh, "web-2", 22, NULL, true, K2, &v, &err),
			 DEPLOY_ERR_HOST_KEY);
	assert_int_equal(v.verdict, KH_VERDICT_UNKNOWN);
	assert_string_equal(
		err.msg, "host key of 'web-2' (10.0.0.5) is not known and "
			 "ssh.host_keys is strict: the host presented ED25519 "
			 "key " K2_FP "; check it and add it to kh");
	assert_false(known_hosts_dirty(kh));

	/* Unknown under accept-new: added, then known; another key for it
	 * in this run names no line. */
	assert_int_equal(verify(kh, "web-2", 22, NULL, false, K2, &v, &err), 0);
	assert_int_equal(v.verdict, KH_VERDICT_ADDED);
	assert_true(known_hosts_dirty(kh));
	assert_int_equal(verify(kh, "web-2", 22, NULL, true, K2, &v, &err), 0);
	assert_int_equal(v.verdict, KH_VERDICT_MATCH);
	assert_int_equal(verify(kh, "web-2", 22, NULL, true, K1, &v, &err),
			 DEPLOY_ERR_HOST_KEY);
	assert_non_null(strstr(err.msg, ": kh (added in this run) has "));

	/* Pinned: checked instead of known_hosts. */
	assert_int_equal(verify(kh, "web-1", 2222, "ssh-ed25519 " K2, true, K2,
				&v, &err),
			 0);
	assert_int_equal(v.verdict, KH_VERDICT_MATCH);
	assert_int_equal(verify(kh, "web-1", 2222, "ssh-ed25519 " K2, true, K1,
				&v, &err),
			 DEPLOY_ERR_HOST_KEY);
	assert_int_equal(v.verdict, KH_VERDICT_CHANGED);
	assert_string_equal(
		err.msg, "host key of 'web-1' ([10.0.0.5]:2222) has changed: "
			 "the state file pins ED25519 key " K2_FP
			 ", the host presented ED25519 key " K1_FP);
	assert_int_equal(
		verify(kh, "web-1", 2222, "ssh-ed25519 !!", true, K1, &v, &err),
		DEPLOY_ERR_HOST_KEY);
	assert_int_equal(v.verdict, KH_VERDICT_UNREADABLE);

	/* No key we can read. */
	{
		struct kh_subject s = { .host = "10.0.0.5", .port = 22 };

		assert_int_equal(
			known_hosts_verify(kh, &s, "junk", 4, &v, &err),
			DEPLOY_ERR_HOST_KEY);
		assert_int_equal(v.verdict, KH_VERDICT_UNREADABLE);
		assert_string_equal(
			err.msg, "host 10.0.0.5 sent no host key we can read");
	}
	error_clear(&err);
	known_hosts_free(kh);
}

static void test_added_keys_are_appended_atomically(void **state)
{
	char dir[] = "/tmp/deploy-kh-XXXXXX", path[128], *text;
	struct known_hosts *kh = NULL, *again = NULL;
	struct buf b1 = blob_of(K1), b2 = blob_of(K2);
	struct error err;
	struct stat st;
	FILE *f;

	(void)state;
	error_init(&err);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ssh/known_hosts", dir);
	/* No file yet, no directory even: both are made (0700, 0600). */
	assert_int_equal(known_hosts_load(path, &kh, &err), 0);
	assert_int_equal(known_hosts_count(kh), 0);
	assert_int_equal(
		known_hosts_add(kh, "10.0.0.1", 22, b1.data, b1.len, &err), 0);
	assert_true(known_hosts_dirty(kh));
	/* In memory at once. */
	assert_int_equal(check(kh, "10.0.0.1", 22, K1, NULL), KH_MATCH);
	assert_int_equal(known_hosts_flush(kh, &err), 0);
	assert_false(known_hosts_dirty(kh));
	text = read_all(path);
	assert_string_equal(text, "10.0.0.1 ssh-ed25519 " K1 "\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	known_hosts_free(kh);

	/* Lines already there are kept (even one with no newline at the end),
	 * the file's mode too, and no temporary file is left behind. */
	f = fopen(path, "w");
	fputs("# mine\nweb ssh-ed25519 " K2, f);
	fclose(f);
	chmod(path, 0644);
	assert_int_equal(known_hosts_load(path, &kh, &err), 0);
	assert_int_equal(
		known_hosts_add(kh, "10.0.0.2", 2222, b2.data, b2.len, &err),
		0);
	/* Another process added the same key meanwhile: not written twice. */
	assert_int_equal(
		known_hosts_add(kh, "10.0.0.3", 22, b1.data, b1.len, &err), 0);
	f = fopen(path, "a");
	fputs("\n10.0.0.3 ssh-ed25519 " K1 "\n", f);
	fclose(f);
	assert_int_equal(known_hosts_flush(kh, &err), 0);
	text = read_all(path);
	assert_string_equal(text, "# mine\nweb ssh-ed25519 " K2 "\n"
				  "10.0.0.3 ssh-ed25519 " K1 "\n"
				  "[10.0.0.2]:2222 ssh-ed25519 " K2 "\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(path, sizeof(path), "%s/ssh", dir);
	assert_int_equal(count_entries(path), 1);
	snprintf(path, sizeof(path), "%s/ssh/known_hosts", dir);
	assert_int_equal(known_hosts_load(path, &again, &err), 0);
	assert_int_equal(check(again, "10.0.0.2", 2222, K2, NULL), KH_MATCH);
	known_hosts_free(again);
	known_hosts_free(kh);

	unlink(path);
	snprintf(path, sizeof(path), "%s/ssh", dir);
	rmdir(path);
	rmdir(dir);
	buf_free(&b1);
	buf_free(&b2);
	error_clear(&err);
}

static const char plain_key[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACD01JjDB82HmSu3ROaX774Q3N17JpLMwpS0I8H15jvnHAAAAIhXEGX9VxBl\n"
	"/QAAAAtzc2gtZWQyNTUxOQAAACD01JjDB82HmSu3ROaX774Q3N17JpLMwpS0I8H15jvnHA\n"
	"AAAEBKTDXZMifEi0tWg9gYYEPOjXaqdzrwXlPbBV+HhAQjG/TUmMMHzYeZK7dE5pfvvhDc\n"
	"3XsmkszClLQjwfXmO+ccAAAAAmsxAQID\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

static const char encrypted_key[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABB1870tdA\n"
	"omsORbQMH8IIjGAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIMhxa8OvDbvjLxe3\n"
	"2cCTm6XY0JF4kSXaJSpax3thGgcnAAAAkEiaivt8l/fy09r7vW/W6ijt349yYneKHNmwPy\n"
	"h/HTvQbG1dSXMj3ud+f85X1TIbkFKnuyoDnyVS54xhF4n2/9sBiy8p45SB6MvrGv2UonDW\n"
	"M+5r41OvyDZxNHT1Hy3igvUTFWqGFfRaP7dKshJ3fAxl8vSgKS2GwbZgMJB4waa0KWFxRn\n"
	"4/wKa42sP9jIIxiw==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

static int inspect(const char *text, struct keyfile_info *info)
{
	struct error err;

	error_init(&err);
	return keyfile_inspect_text("k", text, strlen(text), info, &err);
}

static void test_key_files_say_whether_they_are_encrypted(void **state)
{
	struct keyfile_info info;
	struct error err;
	struct buf pub = blob_of(K1);
	struct buf pub3 = blob_of(
		"AAAAC3NzaC1lZDI1NTE5AAAAIMhxa8OvDbvjLxe32cCTm6XY0JF4kSXaJSpax3thGgcn");

	(void)state;
	error_init(&err);
	assert_int_equal(keyfile_inspect_text("k1", plain_key,
					      strlen(plain_key), &info, &err),
			 0);
	assert_false(info.encrypted);
	assert_int_equal(info.pub_len, pub.len);
	assert_memory_equal(info.pub, pub.data, pub.len);
	keyfile_info_free(&info);
	assert_int_equal(keyfile_inspect_text("k3", encrypted_key,
					      strlen(encrypted_key), &info,
					      &err),
			 0);
	assert_true(info.encrypted);
	assert_memory_equal(info.pub, pub3.data, pub3.len);
	keyfile_info_free(&info);

	assert_int_equal(inspect("-----BEGIN RSA PRIVATE KEY-----\n"
				 "Proc-Type: 4,ENCRYPTED\nDEK-Info: x\n\nAA\n",
				 &info),
			 0);
	assert_true(info.encrypted);
	assert_int_equal(inspect("-----BEGIN EC PRIVATE KEY-----\nAA\n", &info),
			 0);
	assert_false(info.encrypted);
	assert_int_equal(
		inspect("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", &info), 0);
	assert_true(info.encrypted);
	assert_int_equal(keyfile_inspect_text("pub", "ssh-ed25519 " K1 "\n",
					      strlen("ssh-ed25519 " K1 "\n"),
					      &info, &err),
			 DEPLOY_ERR_INVALID);
	assert_int_equal(keyfile_inspect("/nonexistent/key", &info, &err),
			 DEPLOY_ERR_NOT_FOUND);
	buf_free(&pub);
	buf_free(&pub3);
	error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_round_trips_and_refuses_junk),
		cmocka_unit_test(
			test_fingerprints_are_as_ssh_keygen_prints_them),
		cmocka_unit_test(test_plain_lines_comments_and_bad_lines),
		cmocka_unit_test(test_ports_other_than_22_are_bracketed),
		cmocka_unit_test(test_hashed_entries_match_their_host_only),
		cmocka_unit_test(test_wildcards_and_negation),
		cmocka_unit_test(test_changed_other_type_and_revoked_keys),
		cmocka_unit_test(test_one_host_key_policy_and_its_words),
		cmocka_unit_test(test_added_keys_are_appended_atomically),
		cmocka_unit_test(test_key_files_say_whether_they_are_encrypted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
