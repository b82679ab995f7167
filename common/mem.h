/* Process-wide memory allocator settings. */
#ifndef GL_MEM_H
#define GL_MEM_H

/* Keeps freed memory for reuse: blocks up to 32 MiB come from the heap, not mmap, and the heap
 * gives memory back to the kernel only past 512 MiB free. glory allocates and frees 4 MiB
 * buffers at a high rate (chunks, RPC bulk data, dirty runs); glibc's defaults return them to
 * the kernel, and every 4 MiB taken again costs 1,024 page faults, which on a VM cost more CPU
 * than the bytes' copies (tools/bench/nbd.sh: 1.5 -> 0.95 s of CPU per GiB read). Call early
 * in main, before threads start. */
void gl_mem_tune(void);

#endif
