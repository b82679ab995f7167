#include "storage/chunkid.h"

#include "common/errors.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct gl_idctx {
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed; /* initialised with the key; duplicated per use */
};

int gl_idctx_new(const uint8_t *key, size_t key_len, struct gl_idctx **out)
{
	struct gl_idctx *c = calloc(1, sizeof(*c));
	OSSL_PARAM params[2];
	char digest[] = "SHA256";

	if (!c)
		return -GL_ENOMEM;
	c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!c->mac)
		goto out_fail;
	c->keyed = EVP_MAC_CTX_new(c->mac);
	if (!c->keyed)
		goto out_fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(c->keyed, key, key_len, params))
		goto out_fail;
	*out = c;
	return 0;
out_fail:
	gl_idctx_free(c);
	return -GL_EIO;
}

void gl_idctx_free(struct gl_idctx *c)
{
	if (!c)
		return;
	EVP_MAC_CTX_free(c->keyed);
	EVP_MAC_free(c->mac);
	free(c);
}

int gl_idctx_mac(struct gl_idctx *c, int n, const void *const *parts, const size_t *lens,
		 uint8_t out[GL_CHUNK_ID_LEN])
{
	EVP_MAC_CTX *x = EVP_MAC_CTX_dup(c->keyed);
	size_t outl = 0;
	int rc = -GL_EIO;

	if (!x)
		return -GL_ENOMEM;
	for (int i = 0; i < n; i++)
		if (!EVP_MAC_update(x, parts[i], lens[i]))
			goto out;
	if (!EVP_MAC_final(x, out, &outl, GL_CHUNK_ID_LEN) || outl != GL_CHUNK_ID_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(x);
	return rc;
}

int gl_chunk_id(struct gl_idctx *c, const void *data, size_t len, uint8_t out[GL_CHUNK_ID_LEN])
{
	return gl_idctx_mac(c, 1, &data, &len, out);
}

int gl_chunk_id_random(uint8_t out[GL_CHUNK_ID_LEN])
{
	/* the kernel's generator: OpenSSL's would keep a generator per calling thread, and
	 * writers call this from short-lived threads */
	if (getrandom(out, GL_CHUNK_ID_LEN, 0) != (ssize_t)GL_CHUNK_ID_LEN)
		return -GL_EIO;
	return 0;
}

void gl_id_hex(const uint8_t id[GL_CHUNK_ID_LEN], char out[2 * GL_CHUNK_ID_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < GL_CHUNK_ID_LEN; i++) {
		out[2 * i] = hx[id[i] >> 4];
		out[2 * i + 1] = hx[id[i] & 15];
	}
	out[2 * GL_CHUNK_ID_LEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gl_id_parse(const char *s, uint8_t id[GL_CHUNK_ID_LEN])
{
	if (!s || strlen(s) != 2 * GL_CHUNK_ID_LEN)
		return -GL_EINVAL;
	for (int i = 0; i < GL_CHUNK_ID_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -GL_EINVAL;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
