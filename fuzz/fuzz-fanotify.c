/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fanotify event-buffer parser (watch_fan_next) on arbitrary bytes:
 * no read outside the buffer, whatever the lengths claim; every event it
 * returns lies inside the buffer, its name terminated there. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "watch-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* a copy at an 8-byte boundary, as read(2) fills the watcher's buffer */
        unsigned char *buf = malloc(size ? size : 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        size_t off = 0, prev = 0;
        watch_fan_rec rec;
        int r;
        while ((r = watch_fan_next(buf, size, &off, &rec)) > 0) {
                if (off <= prev || off > size)
                        abort();
                if (rec.has_name) {
                        const unsigned char *n = (const unsigned char *)rec.name;
                        if (n < buf + prev || n + rec.name_len >= buf + off || rec.name[rec.name_len] != '\0')
                                abort();
                        if (rec.handle.fh.handle_bytes > MAX_HANDLE_SZ)
                                abort();
                }
                prev = off;
        }
        free(buf);
        return 0;
}
