/* SPDX-License-Identifier: MIT */
/* providers/aws/sigv4: the AWS test suite's cases and computed ones. */

/*
 * AWS Signature Version 4.
 *
 * The suite_* cases copy their inputs and expected outputs from the classic
 * aws-sig-v4-test-suite (Apache-2.0, "AWS Signature Version 4 Test Suite,
 * Copyright Amazon.com, Inc. or its affiliates"; awslabs/aws-c-auth
 * tests/aws-sig-v4-test-suite at 3d9f13fd). Its credentials: AKIDEXAMPLE,
 * wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service "service",
 * 20150830T123600Z. tests/conformance/aws-sigv4.sh runs every case of it.
 *
 * The ec2_* and normalise_* expectations were computed independently of
 * deploy, with this Python 3 (hashlib, hmac, urllib.parse), which signs a
 * request given as (method, target, [(name, value)...], body):
 *
 *	enc = lambda b: quote(b, safe='-_.~')
 *	path: drop '' and '.' segments, '..' pops one; '/' + '/'.join(
 *	      enc(seg)); a trailing '/' kept when the path had one
 *	query: for each non-empty '&' piece n[=v]: (enc(unquote_to_bytes(n)),
 *	       enc(unquote_to_bytes(v))), sorted, 'n=v' joined with '&'
 *	headers: lower-cased names, ' '.join(value.split()), values of one
 *	         name joined with ',' in order, names sorted
 *	creq = '\n'.join([method, path, query, 'n:v\n'..., signed,
 *	                  sha256(body).hexdigest()])
 *	sts = '\n'.join(['AWS4-HMAC-SHA256', date, scope,
 *	                 sha256(creq).hexdigest()])
 *	k = b'AWS4' + secret; for m in (date[:8], region, service,
 *	    'aws4_request'): k = hmac.new(k, m, sha256).digest()
 *	signature = hmac.new(k, sts, sha256).hexdigest()
 *
 * (Checked first against the suite's get-vanilla-query-order-encoded and
 * get-space, whose signatures it reproduces.) The same requests are
 * the .req files of tests/integration/sigv4, signed by t0700-sigv4.sh.
 */
#include "cmocka-setup.h"

#include <string.h>

#include "providers/aws/sigv4.h"
#include "util/error.h"

#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SUITE_SCOPE "20150830/us-east-1/service/aws4_request"
#define SUITE_CREDENTIAL \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" SUITE_SCOPE ", "

static const struct sigv4_key suite_key = {
	.access_key = "AKIDEXAMPLE",
	.secret_key = SUITE_SECRET,
	.region = "us-east-1",
	.service = "service",
	.amz_date = "20150830T123600Z",
};

#define HOST_AND_DATE                                             \
	{ .name = "Host", .value = "example.amazonaws.com" },     \
	{                                                         \
		.name = "X-Amz-Date", .value = "20150830T123600Z" \
	}

#define NR(a) (sizeof(a) / sizeof((a)[0]))

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)))
		fail_msg("'%s' does not start with '%s'", s, prefix);
}

static void sign_ok(const struct sigv4_request *req,
		    const struct sigv4_key *key, struct sigv4_result *res)
{
	struct error err;

	error_init(&err);
	if (sigv4_sign(req, key, res, &err))
		fail_msg("sigv4_sign: %s", err.msg);
	error_clear(&err);
}

static void test_suite_multiline_value_is_folded_to_spaces(void **state)
{
	const struct sigv4_header headers[] = {
		{ .name = "Host", .value = "example.amazonaws.com" },
		{ .name = "My-Header1",
		  .value = "value1\n  value2\n     value3" },
		{ .name = "X-Amz-Date", .value = "20150830T123600Z" },
	};
	const struct sigv4_request req = {
		.method = "GET",
		.target = "/",
		.headers = headers,
		.nr_headers = NR(headers),
	};
	struct sigv4_result res;

	(void)state;
	sign_ok(&req, &suite_key, &res);
	assert_string_equal(res.canonical_request,
			    "GET\n/\n\n"
			    "host:example.amazonaws.com\n"
			    "my-header1:value1 value2 value3\n"
			    "x-amz-date:20150830T123600Z\n\n"
			    "host;my-header1;x-amz-date\n" EMPTY_SHA256);
	assert_string_equal(res.string_to_sign,
			    "AWS4-HMAC-SHA256\n20150830T123600Z\n" SUITE_SCOPE
			    "\ne99419459a677bc11de234014be3c4e72c1ea5b454ceb58"
			    "b613061f5d7a162e8");
	assert_string_equal(res.signed_headers, "host;my-header1;x-amz-date");
	assert_string_equal(res.signature, "cfd34249e4b1c8d6b91ef74165d41a32e5"
					   "fab3306300901bb65a51a73575eefd");
	assert_string_equal(res.authorization, SUITE_CREDENTIAL
			    "SignedHeaders=host;my-header1;x-amz-date, "
			    "Signature=cfd34249e4b1c8d6b91ef74165d41a32e5fab33"
			    "06300901bb65a51a73575eefd");
	sigv4_result_free(&res);
}

static void test_suite_repeated_header_keeps_value_order(void **state)
{
	const struct sigv4_header headers[] = {
		{ .name = "Host", .value = "example.amazonaws.com" },
		{ .name = "My-Header1", .value = "value2" },
		{ .name = "My-Header1", .value = "value2" },
		{ .name = "My-Header1", .value = "value1" },
		{ .name = "X-Amz-Date", .value = "20150830T123600Z" },
	};
	const struct sigv4_request req = {
		.method = "GET",
		.target = "/",
		.headers = headers,
		.nr_headers = NR(headers),
	};
	struct sigv4_result res;

	(void)state;
	sign_ok(&req, &suite_key, &res);
	assert_non_null(strstr(res.canonical_request,
			       "\nmy-header1:value2,value2,value1\n"));
	assert_string_equal(res.signature, "c9d5ea9f3f72853aea855b47ea873832"
					   "890dbdd183b4468f858259531a5138ea");
	sigv4_result_free(&res);
}

static void test_suite_query_sorted_after_encoding(void **state)
{
	const struct sigv4_header headers[] = { HOST_AND_DATE };
	const struct sigv4_request req = {
		.method = "GET",
		.target = "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
		.headers = headers,
		.nr_headers = NR(headers),
	};
	struct sigv4_result res;

	(void)state;
	sign_ok(&req, &suite_key, &res);
	assert_string_equal(res.canonical_request,
			    "GET\n/\n"
			    "%E1%88%B4=Value1&Param=Value2&Param-3=Value3\n"
			    "host:example.amazonaws.com\n"
			    "x-amz-date:20150830T123600Z\n\n"
			    "host;x-amz-date\n" EMPTY_SHA256);
	assert_string_equal(res.authorization, SUITE_CREDENTIAL
			    "SignedHeaders=host;x-amz-date, "
			    "Signature=371d3713e185cc334048618a97f809c9ffe339c"
			    "62934c032af5a0e595648fcac");
	sigv4_result_free(&res);
}

static void test_suite_space_and_utf8_in_path_are_encoded(void **state)
{
	const struct sigv4_header headers[] = { HOST_AND_DATE };
	struct sigv4_request req = {
		.method = "GET",
		.target = "/example space/",
		.headers = headers,
		.nr_headers = NR(headers),
	};
	struct sigv4_result res;

	(void)state;
	sign_ok(&req, &suite_key, &res);
	assert_prefix(res.canonical_request, "GET\n/example%20space/\n\n");
	assert_string_equal(res.signature, "652487583200325589f1fba4c7e578f7"
					   "2c47cb61beeca81406b39ddec1366741");
	sigv4_result_free(&res);

	req.target = "/\xe1\x88\xb4";
	sign_ok(&req, &suite_key, &res);
	assert_prefix(res.canonical_request, "GET\n/%E1%88%B4\n\n");
	assert_string_equal(res.signature, "8318018e0b0f223aa2bbf98705b62bb7"
					   "87dc9c0e678f255a891fd03141be5d85");
	sigv4_result_free(&res);
}

static void test_suite_dot_segments_and_slashes_are_removed(void **state)
{
	static const char *const targets[] = {
		"/example/..",
		"/example1/example2/../..",
		"/./",
		"//",
	};
	const struct sigv4_header headers[] = { HOST_AND_DATE };
	struct sigv4_request req = {
		.method = "GET",
		.headers = headers,
		.nr_headers = NR(headers),
	};
	struct sigv4_result res;

	(void)state;
	for (size_t i = 0; i < NR(targets); i++) {
		req.target = targets[i];
		sign_ok(&req, &suite_key, &res);
		assert_prefix(res.canonical_request, "GET\n/\n\n");
		/* get-vanilla's signature: the path is "/" */
		assert_string_equal(res.signature,
				    "5fa00fa31553b73ebf1942676e86291e8372ff2a"
				    "2260956d9b8aae1d763fbf31");
		sigv4_result_free(&res);
	}
	req.target = "//example//";
	sign_ok(&req, &suite_key, &res);
	assert_prefix(res.canonical_request, "GET\n/example/\n\n");
	assert_string_equal(res.signature, "9a624bd73a37c9a373b5312afbebe7a7"
					   "14a789de108f0bdfe846570885f57e84");
	sigv4_result_free(&res);
}

static void test_suite_session_token_is_signed(void **state)
{
	const struct sigv4_header headers[] = {
		HOST_AND_DATE,
		{ .name = "X-Amz-Security-Token",
		  .value = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa3155"
			   "3b73ebf194267" },
	};
	const struct sigv4_request req = {
		.method = "GET",
		.target = "/",
		.headers = headers,
		.nr_headers = NR(headers),
	};
	struct sigv4_result res;

	(void)state;
	sign_ok(&req, &suite_key, &res);
	assert_string_equal(res.signed_headers,
			    "host;x-amz-date;x-amz-security-token");
	assert_string_equal(res.signature, "07ec1639c89043aa0e3e2de82b96708f"
					   "198cceab042d4a97044c66dd9f74e7f8");
	sigv4_result_free(&res);
}

/* An EC2 Query API call as the provider makes it: a form body and a
 * session token among the signed headers. Expected values from the Python
 * above. */
static void test_ec2_form_post_with_session_token(void **state)
{
	static const char body[] =
		"Action=DescribeInstances&Filter.1.Name=tag%3Adeploy%3A"
		"topology&Filter.1.Value.1=web&Version=2016-11-15";
	const struct sigv4_header headers[] = {
		{ .name = "Content-Type",
		  .value = "application/x-www-form-urlencoded; charset=utf-8" },
		{ .name = "Host", .value = "ec2.eu-west-1.amazonaws.com" },
		{ .name = "X-Amz-Date", .value = "20261121T093000Z" },
		{ .name = "X-Amz-Security-Token",
		  .value = "FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLEsessiontok"
			   "en+abc/def==" },
	};
	const struct sigv4_request req = {
		.method = "POST",
		.target = "/",
		.headers = headers,
		.nr_headers = NR(headers),
		.payload = body,
		.payload_len = strlen(body),
	};
	const struct sigv4_key key = {
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		.region = "eu-west-1",
		.service = "ec2",
		.amz_date = "20261121T093000Z",
	};
	struct sigv4_result res;

	(void)state;
	sign_ok(&req, &key, &res);
	assert_string_equal(
		res.canonical_request,
		"POST\n/\n\n"
		"content-type:application/x-www-form-urlencoded; charset=utf-8\n"
		"host:ec2.eu-west-1.amazonaws.com\n"
		"x-amz-date:20261121T093000Z\n"
		"x-amz-security-token:FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLE"
		"sessiontoken+abc/def==\n\n"
		"content-type;host;x-amz-date;x-amz-security-token\n"
		"3241d2f1ba2d4504160301fa6f2701b0fa3ab7aa838b0a0de2450c1d420a4037");
	assert_string_equal(res.string_to_sign,
			    "AWS4-HMAC-SHA256\n20261121T093000Z\n"
			    "20261121/eu-west-1/ec2/aws4_request\n"
			    "30c16477631d8e618764625d9b93daaa2ed8e9c3318fba7f7"
			    "16c2b3c44d55d9b");
	assert_string_equal(
		res.authorization,
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261121/"
		"eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;"
		"x-amz-date;x-amz-security-token, Signature=3b4aa70bf096b6aa155"
		"ede8d8ea54866fad9f216f53248d45a086e2092b70482");
	sigv4_result_free(&res);
}

/* Percent-encoded path bytes are encoded again (every service but S3);
 * query names and values are decoded then encoded, '+' is a literal plus;
 * names that differ in case are one header. From the Python above. */
static void test_normalise_path_query_and_headers(void **state)
{
	const struct sigv4_header headers[] = {
		{ .name = "Host", .value = "example.com" },
		{ .name = "X-Amz-Date", .value = "20261121T093000Z" },
		{ .name = "My-Header", .value = " a\t\t b  " },
		{ .name = "X-Folded", .value = " one\n\t two" },
		{ .name = "my-header", .value = "  c" },
	};
	const struct sigv4_request req = {
		.method = "GET",
		.target = "/a/./b/../c%20d//e%2Ff/"
			  "?b=2&a=%7e&a=1&empty&sp=x%20y&plus=1+2",
		.headers = headers,
		.nr_headers = NR(headers),
	};
	const struct sigv4_key key = {
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		.region = "eu-central-1",
		.service = "execute-api",
		.amz_date = "20261121T093000Z",
	};
	struct sigv4_result res;

	(void)state;
	sign_ok(&req, &key, &res);
	assert_string_equal(
		res.canonical_request,
		"GET\n/a/c%2520d/e%252Ff/\n"
		"a=1&a=~&b=2&empty=&plus=1%2B2&sp=x%20y\n"
		"host:example.com\n"
		"my-header:a b,c\n"
		"x-amz-date:20261121T093000Z\n"
		"x-folded:one two\n\n"
		"host;my-header;x-amz-date;x-folded\n" EMPTY_SHA256);
	assert_string_equal(res.signature, "a7979d2d8f4ebff3447e72d35440bbad"
					   "cd3208815cc87fec8fcbf828544c84f5");
	sigv4_result_free(&res);
}

static void test_bad_input_is_refused_without_the_secret(void **state)
{
	const struct sigv4_header headers[] = { HOST_AND_DATE };
	const struct sigv4_header bad_name[] = {
		{ .name = "Bad Name", .value = "x" },
	};
	struct sigv4_request req = {
		.method = "GET",
		.target = "/",
		.headers = headers,
		.nr_headers = NR(headers),
	};
	struct sigv4_key key = suite_key;
	struct sigv4_result res;
	struct error err;

	(void)state;
	error_init(&err);
	key.amz_date = "2015-08-30T12:36:00Z";
	assert_int_equal(sigv4_sign(&req, &key, &res, &err), DEPLOY_ERR_USAGE);
	assert_string_equal(err.msg, "sigv4: date '2015-08-30T12:36:00Z' is "
				     "not YYYYMMDDTHHMMSSZ");
	assert_null(res.authorization);
	sigv4_result_free(&res);

	key = suite_key;
	key.region = "us/east";
	assert_int_equal(sigv4_sign(&req, &key, &res, &err), DEPLOY_ERR_USAGE);
	assert_null(strstr(err.msg, SUITE_SECRET));

	key = suite_key;
	key.secret_key = "";
	assert_int_equal(sigv4_sign(&req, &key, &res, &err), DEPLOY_ERR_USAGE);
	assert_string_equal(err.msg, "sigv4: secret access key is missing");

	req.target = "example.com/";
	assert_int_equal(sigv4_sign(&req, &suite_key, &res, &err),
			 DEPLOY_ERR_USAGE);
	assert_null(strstr(err.msg, SUITE_SECRET));

	req.target = "/";
	req.headers = bad_name;
	req.nr_headers = NR(bad_name);
	assert_int_equal(sigv4_sign(&req, &suite_key, &res, &err),
			 DEPLOY_ERR_USAGE);
	assert_string_equal(err.msg,
			    "sigv4: header name 'Bad Name' is not a token");
	error_clear(&err);
}

static void test_amz_date_and_sha256_helpers(void **state)
{
	char date[17], hex[65];

	(void)state;
	sigv4_amz_date(1440938160, date);
	assert_string_equal(date, "20150830T123600Z");
	sigv4_amz_date(1795253400, date);
	assert_string_equal(date, "20261121T093000Z");
	sigv4_sha256_hex("", 0, hex);
	assert_string_equal(hex, EMPTY_SHA256);
	sigv4_sha256_hex("Param1=value1", 13, hex);
	assert_string_equal(hex, "9095672bbd1f56dfc5b65f3e153adc8731a4a65419"
				 "2329106275f4c7b24d0b6e");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_suite_multiline_value_is_folded_to_spaces),
		cmocka_unit_test(test_suite_repeated_header_keeps_value_order),
		cmocka_unit_test(test_suite_query_sorted_after_encoding),
		cmocka_unit_test(test_suite_space_and_utf8_in_path_are_encoded),
		cmocka_unit_test(
			test_suite_dot_segments_and_slashes_are_removed),
		cmocka_unit_test(test_suite_session_token_is_signed),
		cmocka_unit_test(test_ec2_form_post_with_session_token),
		cmocka_unit_test(test_normalise_path_query_and_headers),
		cmocka_unit_test(test_bad_input_is_refused_without_the_secret),
		cmocka_unit_test(test_amz_date_and_sha256_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
