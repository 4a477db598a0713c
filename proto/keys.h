/*
 * keys.h - the shop's keys in $COUNTER_HOME/keys/ (DESIGN section 9).
 *
 * Layout (the folder 0700, owned by the shop's user):
 *   NAME.key   (0600) the CURVE key pair of NAME: two lines, the public key
 *              then the secret key, Z85 (40 characters each)
 *   NAME.pub   (0644) NAME's public key: one line, Z85
 *   token.key  (0600) the token signing key (Ed25519, crypto_sign): the 64
 *              bytes of the secret key, one line of 128 hex digits
 *   token.pub  (0644) its 32-byte public key: one line of 64 hex digits
 * for every NAME of config_services and "counter" (the operator's tool).
 * Lines starting with '#' are comments. A host that only talks to a service
 * (a terminal, another host) holds NAME.pub without NAME.key
 * (`counter keys export`).
 *
 * Secret key bytes are wiped (sodium_memzero) whenever a buffer that held
 * them is dropped.
 */
#ifndef KEYS_H
#define KEYS_H

#include "zio.h"

#include <stddef.h>

typedef struct keys keys_t;

/* The name of the operator tool's pair (besides the services'). */
#define KEYS_OPERATOR "counter"

/* Make whatever is missing under home/keys: the folder, each NAME's pair
 * (when NAME.pub is there without NAME.key, the pair lives on another host:
 * nothing is made), the token pair. Never overwrites a key. Refuses (-1, a
 * sentence in err) a keys folder or a secret key file that group or others
 * may use, or that belongs to another user. Returns 0 or -1. */
int keys_ensure(const char *home, char *err, size_t errlen);

/* Every public key of home/keys (each NAME.pub and token.pub must be there:
 * else NULL with "no keys in HOME/keys: run counter setup" and which file),
 * and a fresh ephemeral CURVE pair as this process's own (a terminal's). */
keys_t *keys_load(const char *home, char *err, size_t errlen);
/* Make name's pair (NAME.key) this process's own: a service's. 0 or -1. */
int keys_load_own(keys_t *k, const char *name, char *err, size_t errlen);
void keys_destroy(keys_t **self_p);

/* home/keys. */
const char *keys_dir(const keys_t *k);
/* name's public key (Z85), or NULL when name is not one of ours. */
const char *keys_public(const keys_t *k, const char *name);
/* The name whose public key client_pub_z85 is, or NULL: not one of ours. */
const char *keys_name_of(const keys_t *k, const char *client_pub_z85);
/* This process's own pair: the name it was loaded for, "" when ephemeral. */
const char *keys_own_name(const keys_t *k);

/* CURVE options for a client of service server with this process's own pair.
 * 0, or -1 when server has no public key here. */
int keys_client(const keys_t *k, const char *server, zio_curve_t *out);
/* CURVE options for a server socket with this process's own pair (server is
 * set to its own public key). */
void keys_server(const keys_t *k, zio_curve_t *out);

/* The token signing keys: the public one (loaded), the secret one read from
 * token.key on demand (only the auth worker asks). 0 or -1. */
int keys_token_public(const keys_t *k, unsigned char pk[32]);
int keys_token_secret(const keys_t *k, unsigned char sk[64]);

/* Write every public key (NAME.pub, token.pub) and, for each of secrets
 * (a NAME, or "token" for the signing key), its secret file into dir
 * (created 0700 when missing). Refuses (-1 before writing anything) when
 * one of those files exists. 0, or -1 with a sentence in err. */
int keys_export(const keys_t *k, const char *dir, const char *const *secrets, size_t nsecrets,
                char *err, size_t errlen);

/* The names that have keys (config_services, then KEYS_OPERATOR),
 * NULL-terminated. */
const char *const *keys_names(void);

#endif
