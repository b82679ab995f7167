/* CRC32C (Castagnoli, the iSCSI polynomial) through ISA-L. Chainable:
 * gl_crc32c(gl_crc32c(GL_CRC_INIT, a, na), b, nb) == gl_crc32c(GL_CRC_INIT, ab, na + nb). */
#ifndef GL_CRC_H
#define GL_CRC_H

#include <stddef.h>
#include <stdint.h>

#define GL_CRC_INIT 0xffffffffu

uint32_t gl_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
