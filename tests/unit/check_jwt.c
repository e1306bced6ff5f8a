/*
 * check_jwt: the RS256 JWT builder (base64url, byte-exact signing inputs
 * and signatures made by another implementation, verification with the
 * public key, certificate thumbprints, PEM keys, service account key
 * files) and the request bodies of each grant built on it.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "io/b64.h"
#include "oauth/grant.h"
#include "oauth/jwt.h"
#include "tests/unit/suites.h"

#define ERRSZ		512
#define PATHSZ		4096
#define BUFSZ		8192

/*
 * A 2048-bit RSA test key, a self-signed certificate for it, and the same
 * key encrypted with the passphrase "x". Test material only.
 */
static const char jw_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDD6aDuS+L3ATmH\n"
    "Q8guv/i+4ttxAVGovioq5CrTcfPshQEdxjw9Tp9ocp23/oqfa0BpSWmo1cOG6od6\n"
    "U0hDlPxPeXJWRMylJ205lmU0sD7EoucKkKPYOWu9VwWX/t/anQhSVuOUYbyuoBrx\n"
    "yEwPqA/KP5ycDd5YNmSAKPyRxICe/8yC6qdDSTm7qo6vTo0ejsJafXr8u2TcZCNM\n"
    "naZlQ3oW8C3f8Uz1QPZH/d8hYu6jxUlpJF17uvD2uIYvEGGP9mzyTcu023UZ1w8v\n"
    "v8nAMaHcjwMqRjb8TYtOLwq9poaZt2GB1uP21gONVEJ5yMncfQK1Smng6nqoqGk9\n"
    "Sv7yaQ9BAgMBAAECggEADIRikR8dnPkBzzPkOCJxVubhLObv6/dcc9mYp+JVuqSj\n"
    "1d5qzmL12eNK0uzrN/TPDHsRimVABSB6b/UevpyoAz7n8H2cUqgCeUWz6SoilIcw\n"
    "+lKT+VZv3QzQkW3KKSpT1AjzqPEWsFSP7CdHPs/W1G38iFb1gA7XnH2h54FV03K5\n"
    "ZKY5TFqjKaEDpFz6sMqvYUyl5s1gI1DQ0uVGJgrnh1NuXyRG0coYvPW4SQkh9fJs\n"
    "JqAT4oJHzrK3g+ojH2Qc+EA6CzMMd6RFXYzeQTgPBK6wglp0dzdRuuuAZzdqlo1+\n"
    "NjW5RiRSx2igjhGReOGL3QzKdwNjr4VlGrcLeFK8HQKBgQDiTxQvoilvz4o3tlbw\n"
    "zUy2jpcDiMeMZ0RckQXCf7lZk1uSMOo9JyPydaADOB1QJqeyiNuRrx7C1Zvne8pl\n"
    "t6s2Y4VJJNZVN7Oro0uqYL9KhcvgJHSuHtOB0TcvQ/jV8edP5+PDQ4CKyMY8qGl3\n"
    "212hAfRyc9HWFHLpFdsMvDlRDQKBgQDdnaUpqI5upHJPJ4QxsQXgNMALXTE3aIw9\n"
    "6In+cRVw2bnzjMAstD3nzUOhkekp1SVotsnL7nhs+wGNpmjoFI+6CxR8i4VOLwkF\n"
    "zfLbs/s277OUrPTmEydZ6nO/vGQbb1Tj33+ETXEE7X4NeoyDmw01bkVhxbmD6+Qm\n"
    "GzssOXHiBQKBgCMfOLfHx/yFTiMlVkra4cv3RzKSOL3ujOp8y1MLNX3UY8LFeqTw\n"
    "/SA05xd4zvvQc/g+Sy1J61E7i42aZafxoE25lkbqw6TIF0dM+YJAr49mQmTP45fe\n"
    "St771D+uoeC6QTbiezOjt0BStolVbcDfN6G0Rva4SNmbpNXNwYgxcgfFAoGBALDB\n"
    "nszmKowmzyFA5Ff52DTl/dJShwGpekmaYg21xiMXFRAiz9gX/lQWzH1ecjiyTz8A\n"
    "o1zrG9PYM3n2IzAPzj7VvYZEhZNBQpIFnFENcS1066eGd2HWHwnBTIa9zJ5xIqUJ\n"
    "SpyMY7tJbMN1XgNNtLBL/jyoRnnouDSIfZ6dRq69AoGBAIYXs3kmgv9p6RQsE3Jo\n"
    "kIcHJLtpBQy4RI+ojRAnv6GZdvOf8jNwQtdOac/I0yx7J87TSuumSTxN0ESWWuKG\n"
    "aeBok7MtQpiZL1Be6vWGQru3pqHqMaYfSGWKh6n22pAO8MbaIu/jzb+MCbtHKlrd\n"
    "wOfT6LfoKCkFmliFE1KNurVq\n"
    "-----END PRIVATE KEY-----\n";

static const char jw_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDFTCCAf2gAwIBAgIUFPc5sfyO2v6X6Sv1NjTxvYyoeRswDQYJKoZIhvcNAQEL\n"
    "BQAwGTEXMBUGA1UEAwwOYXV0aHJlbGF5IHRlc3QwIBcNMjYxMTI0MDg1ODA1WhgP\n"
    "MjEyNjEwMzEwODU4MDVaMBkxFzAVBgNVBAMMDmF1dGhyZWxheSB0ZXN0MIIBIjAN\n"
    "BgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw+mg7kvi9wE5h0PILr/4vuLbcQFR\n"
    "qL4qKuQq03Hz7IUBHcY8PU6faHKdt/6Kn2tAaUlpqNXDhuqHelNIQ5T8T3lyVkTM\n"
    "pSdtOZZlNLA+xKLnCpCj2DlrvVcFl/7f2p0IUlbjlGG8rqAa8chMD6gPyj+cnA3e\n"
    "WDZkgCj8kcSAnv/MguqnQ0k5u6qOr06NHo7CWn16/Ltk3GQjTJ2mZUN6FvAt3/FM\n"
    "9UD2R/3fIWLuo8VJaSRde7rw9riGLxBhj/Zs8k3LtNt1GdcPL7/JwDGh3I8DKkY2\n"
    "/E2LTi8KvaaGmbdhgdbj9tYDjVRCecjJ3H0CtUpp4Op6qKhpPUr+8mkPQQIDAQAB\n"
    "o1MwUTAdBgNVHQ4EFgQUAIarMT2Sh1LCW50n2v4IlvYodGowHwYDVR0jBBgwFoAU\n"
    "AIarMT2Sh1LCW50n2v4IlvYodGowDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0B\n"
    "AQsFAAOCAQEAPwbalONuMbrxNMTb6wtxbjqrPMSbIj6xDSAq0C67LrRzsKpciJeE\n"
    "bt08f6Bk+6b8KDiD9onetUwJvm6CxxKP2G1PUVM5EP6ppY4TCHGcXHdzGNcxznYt\n"
    "x4oWTVHVv3nroOSCBzDJTmvj6Dhe6CSsFXzmt5Gu+1AlmO8zVtXIsb9m2MHYrUH4\n"
    "epD64OeuEkdfBQClUVp1wyOCDvRzv/KL3Qijf2GKxkrqW6owJkv/A89skhZccsH1\n"
    "A3nnfEh+c9llzXd4clU8sNPGvLRKqqHiun+NAWXK4gdtebKhYEPi2mmfl0CopFzP\n"
    "3RBEgZEQgWhXbmT0CKjIHBEaji640l/n/A==\n"
    "-----END CERTIFICATE-----\n";

static const char jw_enc_pem[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIIFLTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQIAbRQ0rct5QsCAggA\n"
    "MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBAjFv118KHdmZwVQDCIMEddBIIE\n"
    "0NmYJ0rCUA9QIsaz9LBze3HKQci6BiTbuayu/YxGLfTgLUNBEz1Y+i5rLpuh4SyO\n"
    "VhbwZ/4gaukxcTdlS4KQ91mjBkCiJQArwy//pSAECLs22I6AWR+NHPDQ8aRrEojJ\n"
    "kGGvTdj3t2fIeP/S95gwpN//y9g5qcHqlT52p8t1KJDFJcI1a3UW0DlMfI+hHr9O\n"
    "8OYewKk5bt7Hu/frlK4XmAnEr7QXn59FxFkwA9gIK+sqXQowD0UnFPYUykOxBhjN\n"
    "peji8jtGddxP9XtW3U++rxHLUVp2/aXWQb7sUd6h4flDfzp61CERY4v248dZpatF\n"
    "kAhh8BGwJ6wC7rSquroisuj8JSFUE7XdJ+36y1OfCoeONU4JwU/RAv5Wqwt+i77/\n"
    "E84Pz2DZmWGeo0rtP08WcwJqHofbjZpZg2s1W3cVvDFHjEx4ETOadv/BhJMN80b1\n"
    "voAWTt+cam3ExorCI2SNK8BiKKN80PB0E0M8FD5sa+EsKxzxv+bkYQtcjvSJUoeM\n"
    "5v+gKzZIK98g6x1XxZc/B7dAAvKyHu054C0DB35iuzsanVmrkmiQ1X+rw5onq5D9\n"
    "9beYWOodUnLyYMtXl++DbTDvOpZGsrJhigYhyfBa/J9hWh/d7El1gHBonxVl/8Sf\n"
    "fgDo/R8O8Iz+h7q+BfmR5olWbvJtVcoQVMasi+5H7d2J2Ju4b1zkn5zzjCYz+HYB\n"
    "wsFP6muVh2KOL+vIIX26z5vAMThtdc92pT0VgzljtAlyt2PHQQNMpdg28PhBFcG8\n"
    "gZx5cuchrD8j018PolhZaWTaXxS3KXEe3gNSn0qeB0hEfhv41Z+78VXlqhdmTYp6\n"
    "rv+lhJM0KQ3XrI9ClMxUeP1FmwTO6Y6haCTrQzf1yFjvYWCNH8DhOWWPsdwR9QUY\n"
    "/PhSH29WMqgMbshlDlemV9zqwsBHviDfN0zz14tdloP0SxVbaeDwVGPGWtCM07j+\n"
    "zD6GZWm9FIiPlJ7klJIbqvxas9HvR/pFKYdAvAnbEo8ks3RtyeNKvUbDeODT3T/s\n"
    "cunmWz7hxVXMrni2JtUcGO7qfjHQ2+oTawzCzSkBWD8CIUK8SGkC28y3LPSXVud6\n"
    "LXT5Ni2pM/VlEmbFF2A53bKDNFu3DisI+8OYS3ylVF10h9uG4bOwFpdpBvOl6tbc\n"
    "4RKXU4t/DvCKD6t8kCpjIuavapv729SGooWDxVjVsBGvZnPstQyxWpjnUVMYNCN0\n"
    "I9RAxz5F6587PwRtmzRPhIfK7jwJlW58zROspQMs3hymchlWG/4qpaKR1an7HDwg\n"
    "dTmfahNat0vung1HzsJtdymR4a3OMkPUxx+VGDvzLTCNBQMiCgNJaoRA3ZFlRZfa\n"
    "mxmVSUXExUbUkvj8ipcm+CDLPyBn6nobo4wCOyI5XMXkYTXRlD1ZBBmVoNGa5KDP\n"
    "uW1zcPfURCSJtpfQffpeKVy3oa17aKgpoAcvTHAgf61jdqc6e60Bwu+l7CwcGK/s\n"
    "zzq5wrVPukixmQH+Qec/oXi84qip078UzzK7R4LvgvvguaTY1xpqtgamTKaD0tm/\n"
    "qEh05gpdIUU1GejbqqEAdMWsIAPfU8gCQG9sLqBXXhMM35mLTqf6k2xhMtaRA1Cp\n"
    "lGdDsOfgcTBMoAQBJv8poJ3v6b3svINGKKp5VhjoHPt1\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

/* Made with Python's cryptography package from the key and cert above. */
#define JW_X5T		"43d_3EEBq1oQ7JnZ-aZVcsvEh6Q"
#define JW_X5T_S256	"UOAyGq7ab8KmHcpriEbSchApRUonql4Gh2eC72s5KTo"
#define JW_SA_INPUT \
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjAxMjNhYmNkIn0." \
    "eyJpc3MiOiJyZWxheUBwcm9qLmlhbS5nc2VydmljZWFjY291bnQuY29tIiwic3ViIjoi" \
    "dXNlckBleGFtcGxlLm9yZyIsImF1ZCI6Imh0dHBzOi8vb2F1dGgyLmdvb2dsZWFwaXMu" \
    "Y29tL3Rva2VuIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8iLCJpYXQi" \
    "OjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMH0"
#define JW_SA_SIG \
    "TB4X9GKeX-iPhop5UiAYZnB9Y1Rde9x1gq3SAyJzOuZVwJpa4zKUBl5eqISmvexWnPpL" \
    "jXhQ6k4uanv5HUVv2WcE4jg0IAKZbUQNnR8BIfcH7VZ0wVTPLjz8RjcsJEXZf1dY-cWO" \
    "diTOlh10P2VovVApNZR4rD1AUrTwBxnMpzt2Vq7S5t44jfACq1yS0nooAvBM_B0qrV6Z" \
    "wtjzYdT1pg7NeIy9fTvF-p9kEEOYiWnjM5PdmUHds8Ajaa0lXNhYMKTSKQTC_ODUK0xv" \
    "Lll_zoQ3jGMj3gapBA9-OOObZ0kw2BndJipixJhTzdGeE16SkpbqmfKrV7K2q7Dlyi-mQA"
#define JW_CA_INPUT \
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsIng1dCI6IjQzZF8zRUVCcTFvUTdKblot" \
    "YVpWY3N2RWg2USIsIng1dCNTMjU2IjoiVU9BeUdxN2FiOEttSGNwcmlFYlNjaEFwUlVv" \
    "bnFsNEdoMmVDNzJzNUtUbyJ9." \
    "eyJpc3MiOiJjaWQtMSIsInN1YiI6ImNpZC0xIiwiYXVkIjoiaHR0cHM6Ly9sb2dpbi5t" \
    "aWNyb3NvZnRvbmxpbmUuY29tL3Qvb2F1dGgyL3YyLjAvdG9rZW4iLCJqdGkiOiJhYmMi" \
    "LCJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwNjAw" \
    "fQ"

#define JW_SA_EMAIL	"relay@proj.iam.gserviceaccount.com"
#define JW_GOOGLE_TOKEN	"https://oauth2.googleapis.com/token"
#define JW_MS_TOKEN	"https://login.microsoftonline.com/t/oauth2/v2.0/token"

static const struct jwt_header jw_sa_header = { "0123abcd", NULL, NULL };
static const struct jwt_claims jw_sa_claims = {
	.iss = JW_SA_EMAIL, .sub = "user@example.org", .aud = JW_GOOGLE_TOKEN,
	.scope = "https://mail.google.com/", .iat = 1700000000,
	.exp = 1700003600,
};
static const struct jwt_header jw_ca_header = { NULL, JW_X5T, JW_X5T_S256 };
static const struct jwt_claims jw_ca_claims = {
	.iss = "cid-1", .sub = "cid-1", .aud = JW_MS_TOKEN, .jti = "abc",
	.iat = 1700000000, .nbf = 1700000000, .exp = 1700000600,
};

static EVP_PKEY *
jw_key(void)
{
	char err[ERRSZ];
	EVP_PKEY *k;

	k = jwt_key_from_pem(jw_key_pem, strlen(jw_key_pem), err, sizeof(err));
	ck_assert_msg(k != NULL, "%s", err);
	return k;
}

static X509 *
jw_cert(void)
{
	char err[ERRSZ];
	X509 *c;

	c = jwt_cert_from_pem(jw_cert_pem, strlen(jw_cert_pem), err,
	    sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

/* base64url text (no padding) into bytes; returns the length. */
static size_t
jw_unb64url(const char *s, size_t n, unsigned char *out, size_t size)
{
	char buf[BUFSZ];
	size_t i;
	ssize_t r;

	ck_assert_uint_lt(n + 4, sizeof(buf));
	for (i = 0; i < n; i++) {
		ck_assert_msg(s[i] != '+' && s[i] != '/' && s[i] != '=',
		    "not base64url: %c", s[i]);
		buf[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	while (i % 4 != 0)
		buf[i++] = '=';
	r = b64_decode(buf, i, out, size);
	ck_assert_int_ge(r, 0);
	return (size_t)r;
}

/* Part i (0 header, 1 claims) of a compact JWT as JSON. */
static json_t *
jw_part(const char *jwt, int part)
{
	unsigned char raw[BUFSZ];
	const char *p = jwt, *dot;
	json_t *o;
	size_t n;

	for (; part > 0; part--) {
		ck_assert_ptr_nonnull(p = strchr(p, '.'));
		p++;
	}
	ck_assert_ptr_nonnull(dot = strchr(p, '.'));
	n = jw_unb64url(p, (size_t)(dot - p), raw, sizeof(raw));
	ck_assert_ptr_nonnull(o = json_loadb((char *)raw, n, 0, NULL));
	return o;
}

/* Whether the compact JWT's signature verifies with key's public half. */
static int
jw_verifies(const char *jwt, EVP_PKEY *key)
{
	unsigned char sig[BUFSZ];
	const char *dot;
	EVP_MD_CTX *md;
	size_t n;
	int r;

	ck_assert_ptr_nonnull(dot = strrchr(jwt, '.'));
	n = jw_unb64url(dot + 1, strlen(dot + 1), sig, sizeof(sig));
	ck_assert_ptr_nonnull(md = EVP_MD_CTX_new());
	ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    key), 1);
	r = EVP_DigestVerify(md, sig, n, (const unsigned char *)jwt,
	    (size_t)(dot - jwt));
	EVP_MD_CTX_free(md);
	return r == 1;
}

static void
jw_str_member(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(v != NULL && json_is_string(v), "no %s", key);
	ck_assert_str_eq(json_string_value(v), want);
}

static void
jw_int_member(json_t *o, const char *key, long long want)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(v != NULL && json_is_integer(v), "no %s", key);
	ck_assert_int_eq(json_integer_value(v), want);
}

/* RFC 4648 section 10, and the two characters base64url changes. */
static const struct {
	const char	*in;
	size_t		 len;
	const char	*out;
} jw_b64[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\xfb\xff", 2, "-_8" },
	{ "\xff\xff\xfe", 3, "___-" },
	{ "\x00", 1, "AA" },
};

START_TEST(test_b64url)
{
	char out[64];
	ssize_t n;

	n = jwt_b64url(jw_b64[_i].in, jw_b64[_i].len, out, sizeof(out));
	ck_assert_int_eq(n, (ssize_t)strlen(jw_b64[_i].out));
	ck_assert_str_eq(out, jw_b64[_i].out);
}
END_TEST

/* Any bytes: no padding, no '+' or '/', the unpadded length. */
START_TEST(test_b64url_alphabet)
{
	unsigned char in[300];
	char out[JWT_B64URL_SIZE(300)];
	size_t n, i;
	ssize_t r;

	for (n = 0; n <= sizeof(in); n++) {
		ck_assert_int_eq(RAND_bytes(in, (int)sizeof(in)), 1);
		r = jwt_b64url(in, n, out, sizeof(out));
		ck_assert_int_eq(r, (ssize_t)((n * 4 + 2) / 3));
		for (i = 0; i < (size_t)r; i++)
			ck_assert_msg(out[i] != '=' && out[i] != '+' &&
			    out[i] != '/', "n=%zu: %s", n, out);
	}
	/* Too small for the encoding with padding: refused. */
	ck_assert_int_eq(jwt_b64url("foo", 3, out, 4), -1);
}
END_TEST

START_TEST(test_signing_input)
{
	char *s;

	ck_assert_ptr_nonnull(s = jwt_signing_input(&jw_sa_header,
	    &jw_sa_claims));
	ck_assert_str_eq(s, JW_SA_INPUT);
	free(s);
	ck_assert_ptr_nonnull(s = jwt_signing_input(&jw_ca_header,
	    &jw_ca_claims));
	ck_assert_str_eq(s, JW_CA_INPUT);
	free(s);
}
END_TEST

START_TEST(test_signing_input_limits)
{
	struct jwt_claims c = jw_sa_claims;
	struct jwt_header h = { NULL, NULL, NULL };
	char *big, *s;
	json_t *o;

	ck_assert_ptr_nonnull(big = malloc(JWT_VALUE_MAX + 2));
	memset(big, 'a', JWT_VALUE_MAX + 1);
	big[JWT_VALUE_MAX + 1] = '\0';
	c.sub = big;
	ck_assert_ptr_null(jwt_signing_input(&h, &c));
	big[JWT_VALUE_MAX] = '\0';
	ck_assert_ptr_nonnull(s = jwt_signing_input(&h, &c));
	free(s);
	free(big);

	/* Quotes and backslashes are escaped, not written raw. */
	c.sub = "a\"b\\c";
	ck_assert_ptr_nonnull(s = jwt_signing_input(&h, &c));
	/* jw_part wants a signature part after the claims. */
	ck_assert_int_gt(asprintf(&big, "%s.x", s), 0);
	o = jw_part(big, 1);
	jw_str_member(o, "sub", "a\"b\\c");
	json_decref(o);
	o = jw_part(big, 0);
	ck_assert_int_eq(json_object_size(o), 2);
	json_decref(o);
	free(big);
	free(s);
}
END_TEST

/* PKCS#1 v1.5 is deterministic: the whole JWT is byte-exact. */
START_TEST(test_sign_exact)
{
	EVP_PKEY *key = jw_key();
	char err[ERRSZ];
	char *jwt;

	ck_assert_ptr_nonnull(jwt = jwt_sign(JW_SA_INPUT, key, err,
	    sizeof(err)));
	ck_assert_str_eq(jwt, JW_SA_INPUT "." JW_SA_SIG);
	free(jwt);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_sign_verifies)
{
	EVP_PKEY *key = jw_key();
	X509 *cert = jw_cert();
	char err[ERRSZ];
	char *jwt;

	ck_assert_ptr_nonnull(jwt = jwt_sign(JW_CA_INPUT, key, err,
	    sizeof(err)));
	ck_assert(strncmp(jwt, JW_CA_INPUT ".", strlen(JW_CA_INPUT) + 1) ==
	    0);
	ck_assert(jw_verifies(jwt, X509_get0_pubkey(cert)));
	/* One byte of the claims changed: no longer verifies. */
	jwt[strlen(JW_CA_INPUT) - 3] ^= 1;
	ck_assert(!jw_verifies(jwt, X509_get0_pubkey(cert)));
	free(jwt);
	X509_free(cert);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_sign_not_rsa)
{
	EVP_PKEY *ec;
	char err[ERRSZ];

	ck_assert_ptr_nonnull(ec = EVP_EC_gen("P-256"));
	ck_assert_ptr_null(jwt_sign(JW_SA_INPUT, ec, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not an RSA key"));
	ck_assert_ptr_null(jwt_sign(JW_SA_INPUT, NULL, err, sizeof(err)));
	EVP_PKEY_free(ec);
}
END_TEST

START_TEST(test_thumbprints)
{
	char x5t[JWT_X5T_SIZE], x5t256[JWT_X5T_S256_SIZE];
	X509 *cert = jw_cert();

	ck_assert_int_eq(jwt_thumbprints(cert, x5t, x5t256), 0);
	ck_assert_str_eq(x5t, JW_X5T);
	ck_assert_str_eq(x5t256, JW_X5T_S256);
	ck_assert_int_eq(jwt_thumbprints(NULL, x5t, x5t256), -1);
	X509_free(cert);
}
END_TEST

START_TEST(test_pem)
{
	const char *junk = "-----BEGIN PRIVATE KEY-----\nnope\n"
	    "-----END PRIVATE KEY-----\n";
	char err[ERRSZ];

	/* An encrypted key is refused without asking for a passphrase. */
	ck_assert_ptr_null(jwt_key_from_pem(jw_enc_pem, strlen(jw_enc_pem),
	    err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not encrypted"));
	ck_assert_ptr_null(jwt_key_from_pem(junk, strlen(junk), err,
	    sizeof(err)));
	ck_assert_ptr_null(jwt_key_from_pem(jw_cert_pem, strlen(jw_cert_pem),
	    err, sizeof(err)));
	ck_assert_ptr_null(jwt_cert_from_pem(jw_key_pem, strlen(jw_key_pem),
	    err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no certificate"));
	ck_assert_ptr_null(jwt_cert_from_pem("", 0, err, sizeof(err)));
}
END_TEST

/* A service account key file around pem (with its newlines escaped). */
static char *
jw_sa_json(const char *type, const char *email, const char *pem,
    const char *kid)
{
	json_t *o;
	char *s;

	ck_assert_ptr_nonnull(o = json_object());
	if (type != NULL)
		json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "project_id", json_string("proj"));
	if (kid != NULL)
		json_object_set_new(o, "private_key_id", json_string(kid));
	if (pem != NULL)
		json_object_set_new(o, "private_key", json_string(pem));
	if (email != NULL)
		json_object_set_new(o, "client_email", json_string(email));
	json_object_set_new(o, "client_id", json_string("1234567890"));
	json_object_set_new(o, "token_uri", json_string(JW_GOOGLE_TOKEN));
	ck_assert_ptr_nonnull(s = json_dumps(o, JSON_INDENT(2)));
	json_decref(o);
	return s;
}

START_TEST(test_sa_parse)
{
	struct jwt_service_account sa;
	char err[ERRSZ];
	char *text;

	text = jw_sa_json("service_account", JW_SA_EMAIL, jw_key_pem,
	    "0123abcd");
	ck_assert_int_eq(jwt_service_account_parse(text, strlen(text), &sa,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(sa.client_email, JW_SA_EMAIL);
	ck_assert_str_eq(sa.private_key, jw_key_pem);
	ck_assert_str_eq(sa.private_key_id, "0123abcd");
	ck_assert_str_eq(sa.token_uri, JW_GOOGLE_TOKEN);
	jwt_service_account_clear(&sa);
	ck_assert_ptr_null(sa.private_key);
	free(text);

	/* type and private_key_id may be absent. */
	text = jw_sa_json(NULL, JW_SA_EMAIL, jw_key_pem, NULL);
	ck_assert_int_eq(jwt_service_account_parse(text, strlen(text), &sa,
	    err, sizeof(err)), 0);
	ck_assert_ptr_null(sa.private_key_id);
	jwt_service_account_clear(&sa);
	free(text);
}
END_TEST

/* Bad key files: refused without quoting the key. */
static const struct {
	const char	*text;
	const char	*err_part;
} jw_sa_bad[] = {
	{ "{\"private_key\":\"-----BEGIN PRIVATE KEY-----SECRET", "not valid "
	  "JSON" },
	{ "[\"SECRET\"]", "not a JSON object" },
	{ "{\"type\":\"authorized_user\",\"client_email\":\"a@b\","
	  "\"private_key\":\"SECRET\"}", "type" },
	{ "{\"client_email\":\"a@b\"}", "no private_key" },
	{ "{\"private_key\":\"SECRET\"}", "no client_email" },
	{ "{\"client_email\":7,\"private_key\":\"SECRET\"}", "client_email" },
	{ "{\"client_email\":\"a@b\",\"private_key\":\"\"}", "private_key" },
	{ "{\"client_email\":\"a@b\",\"private_key\":\"SECRET\","
	  "\"private_key\":\"SECRET2\"}", "not valid JSON" },
	{ "{\"client_email\":\"a@b\",\"private_key\":\"SE\\u0000CRET\"}",
	  "not valid JSON" },
};

START_TEST(test_sa_parse_bad)
{
	struct jwt_service_account sa;
	char err[ERRSZ];

	ck_assert_int_eq(jwt_service_account_parse(jw_sa_bad[_i].text,
	    strlen(jw_sa_bad[_i].text), &sa, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, jw_sa_bad[_i].err_part) != NULL,
	    "vector %d: \"%s\" lacks \"%s\"", _i, err, jw_sa_bad[_i].err_part);
	ck_assert_ptr_null(strstr(err, "SECRET"));
	ck_assert_ptr_null(sa.client_email);
	ck_assert_ptr_null(sa.private_key);
}
END_TEST

/* Grant bodies, with their credential files in a scratch directory. */
static char	jw_dir[PATHSZ / 2];

static void
jw_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(jw_dir, sizeof(jw_dir), "%s/check_jwt.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(jw_dir));
}

static void
jw_teardown(void)
{
	char path[PATHSZ];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(jw_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", jw_dir,
			    de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(jw_dir);
}

/* Write text to a file of the scratch directory; its path into path. */
static void
jw_put(const char *name, const char *text, char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", jw_dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The url-decoded value of key in a form body, malloc'd; NULL if absent. */
static char *
jw_form(const char *body, const char *key)
{
	size_t klen = strlen(key);
	const char *p = body, *end;
	char *v, *out;
	int n;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '&');
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			n = (int)(end != NULL ? (size_t)(end - p) : strlen(p));
			ck_assert_ptr_nonnull(v = curl_easy_unescape(NULL, p, n,
			    &n));
			out = strdup(v);
			curl_free(v);
			return out;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

static void
jw_form_eq(const char *body, const char *key, const char *want)
{
	char *v = jw_form(body, key);

	if (want == NULL) {
		ck_assert_msg(v == NULL, "%s present", key);
		return;
	}
	ck_assert_msg(v != NULL, "%s absent from %s", key, body);
	ck_assert_str_eq(v, want);
	free(v);
}

START_TEST(test_grant_refresh)
{
	struct oauth_account_cfg c = {
		.name = "a", .token_url = JW_GOOGLE_TOKEN, .client_id = "cid",
		.client_secret = "s&s =", .scope = "a b",
	};
	char err[ERRSZ];
	char *body;

	ck_assert_ptr_nonnull(body = grant_body(&c, "1//r/x+y", 0, err,
	    sizeof(err)));
	ck_assert_str_eq(body, "grant_type=refresh_token&refresh_token="
	    "1%2F%2Fr%2Fx%2By&client_id=cid&client_secret=s%26s%20%3D&"
	    "scope=a%20b");
	free(body);
	/* A public client without a scope sends neither. */
	c.client_secret = NULL;
	c.scope = NULL;
	ck_assert_ptr_nonnull(body = grant_body(&c, "r", 0, err,
	    sizeof(err)));
	ck_assert_str_eq(body, "grant_type=refresh_token&refresh_token=r&"
	    "client_id=cid");
	free(body);
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	c.client_id = NULL;
	ck_assert_ptr_null(grant_body(&c, "r", 0, err, sizeof(err)));
}
END_TEST

START_TEST(test_grant_cc_secret)
{
	struct oauth_account_cfg c = {
		.name = "a", .token_url = JW_MS_TOKEN, .client_id = "cid",
		.client_secret = "sec", .grant = OAUTH_GRANT_CLIENT_CREDENTIALS,
	};
	char err[ERRSZ];
	char *body;

	ck_assert_ptr_nonnull(body = grant_body(&c, "ignored", 0, err,
	    sizeof(err)));
	ck_assert_str_eq(body, "grant_type=client_credentials&client_id=cid&"
	    "scope=https%3A%2F%2Foutlook.office365.com%2F.default&"
	    "client_secret=sec");
	free(body);
	c.client_secret = NULL;
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "needs client_secret"));
}
END_TEST

START_TEST(test_grant_cc_cert)
{
	char certp[PATHSZ], keyp[PATHSZ], err[ERRSZ];
	struct oauth_account_cfg c = {
		.name = "a", .token_url = JW_MS_TOKEN, .client_id = "cid-1",
		.client_secret = "unused", .scope = "https://x/.default",
		.grant = OAUTH_GRANT_CLIENT_CREDENTIALS,
		.client_cert_file = certp, .client_key_file = keyp,
	};
	const time_t now = 1700000000;
	X509 *cert = jw_cert();
	char *body, *jwt, *jti1;
	json_t *h, *cl;

	jw_put("cert.pem", jw_cert_pem, certp, sizeof(certp));
	jw_put("key.pem", jw_key_pem, keyp, sizeof(keyp));
	ck_assert_ptr_nonnull(body = grant_body(&c, NULL, now, err,
	    sizeof(err)));
	jw_form_eq(body, "grant_type", "client_credentials");
	jw_form_eq(body, "client_id", "cid-1");
	jw_form_eq(body, "scope", "https://x/.default");
	jw_form_eq(body, "client_secret", NULL);
	jw_form_eq(body, "client_assertion_type",
	    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
	ck_assert_ptr_nonnull(jwt = jw_form(body, "client_assertion"));
	h = jw_part(jwt, 0);
	ck_assert_int_eq(json_object_size(h), 4);
	jw_str_member(h, "alg", "RS256");
	jw_str_member(h, "typ", "JWT");
	jw_str_member(h, "x5t", JW_X5T);
	jw_str_member(h, "x5t#S256", JW_X5T_S256);
	cl = jw_part(jwt, 1);
	jw_str_member(cl, "aud", JW_MS_TOKEN);
	jw_str_member(cl, "iss", "cid-1");
	jw_str_member(cl, "sub", "cid-1");
	jw_int_member(cl, "iat", now);
	jw_int_member(cl, "nbf", now);
	jw_int_member(cl, "exp", now + GRANT_ASSERTION_LIFE);
	ck_assert_ptr_nonnull(json_object_get(cl, "jti"));
	ck_assert_uint_ge(strlen(json_string_value(json_object_get(cl,
	    "jti"))), 16);
	ck_assert_ptr_nonnull(jti1 = strdup(json_string_value(
	    json_object_get(cl, "jti"))));
	ck_assert(jw_verifies(jwt, X509_get0_pubkey(cert)));
	json_decref(h);
	json_decref(cl);
	free(jwt);
	free(body);

	/* A new jti every time. */
	ck_assert_ptr_nonnull(body = grant_body(&c, NULL, now, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(jwt = jw_form(body, "client_assertion"));
	cl = jw_part(jwt, 1);
	ck_assert_str_ne(json_string_value(json_object_get(cl, "jti")), jti1);
	json_decref(cl);
	free(jwt);
	free(body);
	free(jti1);
	X509_free(cert);
}
END_TEST

START_TEST(test_grant_cc_cert_bad)
{
	char certp[PATHSZ], keyp[PATHSZ], ecp[PATHSZ], err[ERRSZ];
	struct oauth_account_cfg c = {
		.name = "a", .token_url = JW_MS_TOKEN, .client_id = "cid",
		.grant = OAUTH_GRANT_CLIENT_CREDENTIALS,
		.client_cert_file = certp, .client_key_file = NULL,
	};
	EVP_PKEY *ec;
	FILE *f;

	jw_put("cert.pem", jw_cert_pem, certp, sizeof(certp));
	jw_put("enc.pem", jw_enc_pem, keyp, sizeof(keyp));
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "needs both"));

	/* An encrypted key: refused, nothing prompts. */
	c.client_key_file = keyp;
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "client_key_file"));
	ck_assert_ptr_nonnull(strstr(err, "not encrypted"));

	/* A key that is not the certificate's. */
	snprintf(ecp, sizeof(ecp), "%s/ec.pem", jw_dir);
	ck_assert_ptr_nonnull(ec = EVP_EC_gen("P-256"));
	ck_assert_ptr_nonnull(f = fopen(ecp, "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	EVP_PKEY_free(ec);
	c.client_key_file = ecp;
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "is not the key of"));

	/* The key given as the certificate, a missing file. */
	c.client_cert_file = ecp;
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no certificate"));
	snprintf(certp, sizeof(certp), "%s/none.pem", jw_dir);
	c.client_cert_file = certp;
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot open client_cert_file"));
}
END_TEST

START_TEST(test_grant_sa)
{
	char sap[PATHSZ], err[ERRSZ];
	struct oauth_account_cfg c = {
		.name = "g", .token_url = JW_GOOGLE_TOKEN,
		.grant = OAUTH_GRANT_SERVICE_ACCOUNT,
		.email = "user@example.org", .service_account_file = sap,
	};
	const time_t now = 1700000000;
	X509 *cert = jw_cert();
	char *text, *body, *jwt;
	json_t *h, *cl;

	text = jw_sa_json("service_account", JW_SA_EMAIL, jw_key_pem,
	    "0123abcd");
	jw_put("sa.json", text, sap, sizeof(sap));
	free(text);
	ck_assert_ptr_nonnull(body = grant_body(&c, NULL, now, err,
	    sizeof(err)));
	ck_assert(strncmp(body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
	    "grant-type%3Ajwt-bearer&assertion=", 75) == 0);
	ck_assert_ptr_nonnull(jwt = jw_form(body, "assertion"));
	/* The same claims as the vector above: the same bytes. */
	ck_assert_str_eq(jwt, JW_SA_INPUT "." JW_SA_SIG);
	h = jw_part(jwt, 0);
	jw_str_member(h, "kid", "0123abcd");
	cl = jw_part(jwt, 1);
	jw_str_member(cl, "iss", JW_SA_EMAIL);
	jw_str_member(cl, "sub", "user@example.org");
	jw_str_member(cl, "scope", GRANT_SA_SCOPE);
	jw_str_member(cl, "aud", JW_GOOGLE_TOKEN);
	jw_int_member(cl, "iat", now);
	jw_int_member(cl, "exp", now + GRANT_SA_LIFE);
	ck_assert(jw_verifies(jwt, X509_get0_pubkey(cert)));
	json_decref(h);
	json_decref(cl);
	free(jwt);
	free(body);
	X509_free(cert);
}
END_TEST

START_TEST(test_grant_sa_bad)
{
	char sap[PATHSZ], err[ERRSZ];
	struct oauth_account_cfg c = {
		.name = "g", .token_url = JW_GOOGLE_TOKEN,
		.grant = OAUTH_GRANT_SERVICE_ACCOUNT,
		.email = "user@example.org", .service_account_file = NULL,
	};
	char *text;

	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "needs service_account_file"));
	c.service_account_file = sap;
	snprintf(sap, sizeof(sap), "%s/none.json", jw_dir);
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot open service_account_file"));

	c.email = NULL;
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "email"));
	c.email = "user@example.org";

	/* A broken file is named, its key never quoted. */
	jw_put("sa.json", "{\"private_key\":\"-----BEGIN PRIVATE KEY-----\\n"
	    "MIIEvSECRET", sap, sizeof(sap));
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, sap));
	ck_assert_ptr_nonnull(strstr(err, "not valid JSON"));
	ck_assert_ptr_null(strstr(err, "SECRET"));

	text = jw_sa_json("service_account", JW_SA_EMAIL, "-----BEGIN "
	    "PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n", "k");
	jw_put("sa.json", text, sap, sizeof(sap));
	free(text);
	ck_assert_ptr_null(grant_body(&c, NULL, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "private_key"));
	ck_assert_ptr_null(strstr(err, "SECRET"));
}
END_TEST

Suite *
jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("jwt");

	tcase_add_loop_test(tc, test_b64url, 0,
	    sizeof(jw_b64) / sizeof(jw_b64[0]));
	tcase_add_test(tc, test_b64url_alphabet);
	tcase_add_test(tc, test_signing_input);
	tcase_add_test(tc, test_signing_input_limits);
	tcase_add_test(tc, test_sign_exact);
	tcase_add_test(tc, test_sign_verifies);
	tcase_add_test(tc, test_sign_not_rsa);
	tcase_add_test(tc, test_thumbprints);
	tcase_add_test(tc, test_pem);
	tcase_add_test(tc, test_sa_parse);
	tcase_add_loop_test(tc, test_sa_parse_bad, 0,
	    sizeof(jw_sa_bad) / sizeof(jw_sa_bad[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("grant bodies");
	tcase_add_checked_fixture(tc, jw_setup, jw_teardown);
	tcase_add_test(tc, test_grant_refresh);
	tcase_add_test(tc, test_grant_cc_secret);
	tcase_add_test(tc, test_grant_cc_cert);
	tcase_add_test(tc, test_grant_cc_cert_bad);
	tcase_add_test(tc, test_grant_sa);
	tcase_add_test(tc, test_grant_sa_bad);
	suite_add_tcase(s, tc);
	return s;
}
