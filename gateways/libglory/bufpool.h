/* A process-wide pool of chunk-sized buffers (GL_CHUNK_MAX bytes, huge-page backed where the
 * kernel allows): for code that fills and drops whole chunks at a high rate. */
#ifndef GLORY_BUFPOOL_H
#define GLORY_BUFPOOL_H

/* A buffer of GL_CHUNK_MAX bytes (contents undefined), or NULL. */
void *glory_buf_get(void);
/* Gives a buffer of glory_buf_get back (NULL: nothing). */
void glory_buf_put(void *p);

#endif
