/*
 * buf: see include/buf.h.
 */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_MIN 4096

bool
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return true;
	if (b->len + n > b->max)
		return false;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : BUF_MIN;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return false;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

int
buf_flush(struct buf *b, int fd)
{
	while (b->len > 0) {
		ssize_t n = write(fd, b->data, b->len);
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		memmove(b->data, b->data + n, b->len - (size_t)n);
		b->len -= (size_t)n;
	}
	return 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
