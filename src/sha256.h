/*
** sha256.h: SHA-256 (FIPS 180-4), for the Content-Security-Policy hash of
** the script and style that attn_explorer() puts in its page.
**
** One call hashes a whole buffer; the engine has no other use for it.
*/
#ifndef ATTN_SHA256_H
#define ATTN_SHA256_H

#include <stdint.h>

/* The SHA-256 digest of z[0..n) into aOut[32]. */
void attn_sha256(const void *z, uint64_t n, unsigned char aOut[32]);

#endif /* ATTN_SHA256_H */
