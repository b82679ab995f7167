/* glory status: servers, states, capacity, degraded and rebuilding stripes. */
#include "common/compiler.h"
#include "common/opts.h"
#include "gateways/libglory/glory.h"
#include "tools/glory/cmd.h"

#include <stdio.h>
#include <string.h>

static const char *human(uint64_t v, char *buf, size_t cap)
{
	static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 5) {
		d /= 1024;
		i++;
	}
	snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", d, u[i]);
	return buf;
}

int cmd_status(int argc, char **argv)
{
	const char *master = NULL;
	struct glory *g = NULL;
	struct glory_status *s = NULL;
	uint64_t rebuilt = 0, rbytes = 0, moved = 0, corrupt = 0;
	int rc, up = 0;
	char b1[32], b2[32], b3[32];
	const struct gl_opt opts[] = {
	    {"master", GL_OPT_STR, &master, "GLORY_MASTER", "H:P", "cluster master"},
	};
	const struct gl_cmd_help help = {
	    "glory status [--master H:P]",
	    "Shows the cluster map (data servers, failure domains, states, capacity), stored "
	    "data, and repair progress: degraded stripes, rebuilt fragments.",
	};

	rc = gl_opts_parse(argc, argv, &help, opts, GL_ARRAY_SIZE(opts), NULL, 0, NULL);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!master) {
		fprintf(stderr, "glory status: no master given: use --master H:P or set "
				"GLORY_MASTER\n");
		return 2;
	}
	rc = glory_connect(master, &g);
	if (!rc)
		rc = glory_status(g, &s);
	if (rc) {
		fprintf(stderr, "glory status: cannot reach the master at %s: %s\n", master,
			glory_strerror(rc));
		glory_disconnect(g);
		return 1;
	}
	printf("cluster map epoch %llu, %d data servers\n\n", (unsigned long long)s->epoch,
	       s->nservers);
	printf("%-4s %-22s %-20s %-5s %10s %10s %10s %9s %8s %8s\n", "ID", "ADDRESS", "DOMAIN",
	       "STATE", "CAPACITY", "AVAIL", "USED", "FRAGS", "DEGRADED", "REBUILT");
	for (int i = 0; i < s->nservers; i++) {
		struct glory_server_status *d = &s->servers[i];
		char dom[130];

		snprintf(dom, sizeof(dom), "%s/%s", d->rack, d->host);
		printf("%-4u %-22s %-20s %-5s %10s %10s %10s %9llu %8llu %8llu\n", d->id, d->addr,
		       dom, d->state, human(d->cap_total, b1, sizeof(b1)),
		       human(d->cap_avail, b2, sizeof(b2)), human(d->used, b3, sizeof(b3)),
		       (unsigned long long)d->nfrags, (unsigned long long)d->degraded,
		       (unsigned long long)d->rebuilt);
		up += strcmp(d->state, "up") == 0;
		rebuilt += d->rebuilt;
		rbytes += d->rebuilt_bytes;
		moved += d->moved;
		corrupt += d->corrupt;
	}
	printf("\nservers: %d up, %d not up\n", up, s->nservers - up);
	printf("blobs: %llu (%s logical), chunks: %llu (%s unique), awaiting gc: %llu\n",
	       (unsigned long long)s->blobs, human(s->logical_bytes, b1, sizeof(b1)),
	       (unsigned long long)s->chunks, human(s->chunk_bytes, b2, sizeof(b2)),
	       (unsigned long long)s->gc_pending);
	printf("degraded stripes: %llu, being rebuilt: %llu\n", (unsigned long long)s->degraded,
	       (unsigned long long)s->rebuilding);
	printf("repair: %llu fragments rebuilt (%s), %llu moved home, %llu corrupt found\n",
	       (unsigned long long)rebuilt, human(rbytes, b1, sizeof(b1)),
	       (unsigned long long)moved, (unsigned long long)corrupt);
	glory_status_free(s);
	glory_disconnect(g);
	return 0;
}
