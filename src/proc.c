/*
 * proc: see include/proc.h.
 */
#include "proc.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

bool
proc_drop_privileges(const char *user, const char *const *paths, size_t npaths, char *err,
		     size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	if (!(pw = getpwnam(user))) {
		snprintf(err, errlen, "--user %s: %s", user,
			 errno ? strerror(errno) : "no such user");
		return false;
	}
	if (geteuid() != 0) {
		snprintf(err, errlen, "--user %s: only root can change user", user);
		return false;
	}
	for (size_t i = 0; i < npaths; i++) {
		if (chown(paths[i], pw->pw_uid, pw->pw_gid) != 0) {
			snprintf(err, errlen, "--user %s: chown %s: %s", user, paths[i],
				 strerror(errno));
			return false;
		}
	}
	/* Groups first: once the uid changes, setgid is no longer allowed. */
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "--user %s: %s", user, strerror(errno));
		return false;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "--user %s: root could be regained", user);
		return false;
	}
	return true;
}

void
proc_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
