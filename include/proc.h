/*
 * proc: process chores of a daemon that starts as root.
 */
#ifndef MXCACHE_PROC_H
#define MXCACHE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The uid and primary gid of user; false with err set if there is none. */
bool proc_lookup_user(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/*
 * Becomes user (its uid, primary gid and supplementary groups) for good,
 * after handing it the files in paths (e.g. the control socket, so that its
 * group is the user's; a symbolic link is handed over itself, never what it
 * points to). Call once the privileged sockets are bound and before any
 * thread starts. A process that already runs as user (systemd's User=)
 * has nothing to drop. false with err set on failure.
 */
bool proc_drop_privileges(const char *user, const char *const *paths, size_t npaths, char *err,
			  size_t errlen);

/* Raises the soft limit on open files to the hard one: a resolver holds
 * client connections and libunbound's outgoing sockets at once. */
void proc_raise_nofile(void);

#endif
