/*
 * session.h - the terminal's side of a login (DESIGN 7 and 9): the session
 * kept in $COUNTER_HOME/session (mode 0600) or given as COUNTER_TOKEN, and
 * passwords read without echo - never from an argument or the environment.
 */
#ifndef SESSION_H
#define SESSION_H

#include "config.h"

#include <stddef.h>

/* The credential frame for this terminal's requests: "token:TOKEN" from
 * COUNTER_TOKEN or the session file, else "-". out holds PROTO_MAX_CRED + 8. */
void session_credential(const config_t *cfg, char *out, size_t cap);

/* Keep token as the session (0600, replaced atomically). 0, or -1 with a
 * sentence on stderr. */
int session_save(const config_t *cfg, const char *token);
/* Forget the session file (no error when there is none). */
void session_forget(const config_t *cfg);

/* Read a password: the next line of file (when not NULL), else from the
 * terminal without echo after prompt, else the next line of stdin. A
 * trailing newline is dropped. 0, or -1 with a sentence on stderr. Wipe out
 * with sodium_memzero when done. */
int session_password(const char *file, const char *prompt, char *out, size_t cap);

#endif
