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

/* "192.0.2.0/24", "2001:db8::/32", or a bare address; false if malformed.
 * A v4-mapped entry (::ffff:192.0.2.0/120) is stored as the IPv4 network;
 * an IPv6 entry never matches IPv4 clients (::/0 is not 0.0.0.0/0). */
bool acl_add(struct acl *acl, const char *cidr);

/* IPv4-mapped IPv6 addresses are matched as IPv4. */
bool acl_allows(const struct acl *acl, const struct sockaddr *sa);

#endif
