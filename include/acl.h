/*
 * acl: which client addresses may use the resolver (CIDR list).
 */
#ifndef MXCACHE_ACL_H
#define MXCACHE_ACL_H

#include <stdbool.h>
#include <sys/socket.h>

struct acl;

struct acl *acl_new(void);
void acl_free(struct acl *acl);

/* "192.0.2.0/24", "2001:db8::/32", or a bare address; false if malformed. */
bool acl_add(struct acl *acl, const char *cidr);

/* IPv4-mapped IPv6 addresses are matched as IPv4. */
bool acl_allows(const struct acl *acl, const struct sockaddr *sa);

#endif
