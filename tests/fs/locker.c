/* locker: takes, tests and holds file locks for the lock tests (tests/cluster/test_fuse_locks.sh),
 * so two mounts' processes can be set against each other.
 *
 *   locker fcntl FILE r|w START LEN nb|wait HOLD_S   F_SETLK / F_SETLKW, then holds HOLD_S
 *   locker getlk FILE r|w START LEN                  F_GETLK: "unlocked" or "locked r|w S L PID"
 *   locker flock FILE sh|ex nb|wait HOLD_S           flock(2), then holds HOLD_S
 *
 * Prints "got <seconds waited>" once the lock is held. Exit 0, 3 when the lock is held by
 * someone else (EAGAIN/EWOULDBLOCK with nb), 1 on any other error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: locker fcntl FILE r|w START LEN nb|wait HOLD_S\n"
			"       locker getlk FILE r|w START LEN\n"
			"       locker flock FILE sh|ex nb|wait HOLD_S\n");
	return 1;
}

int main(int argc, char **argv)
{
	double t0 = now();
	int fd;

	if (argc < 4)
		return usage();
	fd = open(argv[2], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "locker: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (strcmp(argv[1], "flock") == 0 && argc == 6) {
		int op = strcmp(argv[3], "ex") == 0 ? LOCK_EX : LOCK_SH;

		if (strcmp(argv[4], "nb") == 0)
			op |= LOCK_NB;
		if (flock(fd, op)) {
			fprintf(stderr, "locker: flock: %s\n", strerror(errno));
			return errno == EWOULDBLOCK ? 3 : 1;
		}
		printf("got %.2f\n", now() - t0);
		fflush(stdout);
		sleep((unsigned)atoi(argv[5]));
		return 0;
	}
	if (argc < 6)
		return usage();
	struct flock l;

	memset(&l, 0, sizeof(l));
	l.l_type = argv[3][0] == 'w' ? F_WRLCK : F_RDLCK;
	l.l_whence = SEEK_SET;
	l.l_start = atol(argv[4]);
	l.l_len = atol(argv[5]);
	if (strcmp(argv[1], "getlk") == 0) {
		if (fcntl(fd, F_GETLK, &l)) {
			fprintf(stderr, "locker: F_GETLK: %s\n", strerror(errno));
			return 1;
		}
		if (l.l_type == F_UNLCK)
			printf("unlocked\n");
		else
			printf("locked %s %ld %ld %d\n", l.l_type == F_WRLCK ? "w" : "r",
			       (long)l.l_start, (long)l.l_len, (int)l.l_pid);
		return 0;
	}
	if (strcmp(argv[1], "fcntl") != 0 || argc != 8)
		return usage();
	if (fcntl(fd, strcmp(argv[6], "nb") == 0 ? F_SETLK : F_SETLKW, &l)) {
		fprintf(stderr, "locker: fcntl: %s\n", strerror(errno));
		return errno == EAGAIN || errno == EACCES ? 3 : 1;
	}
	printf("got %.2f\n", now() - t0);
	fflush(stdout);
	sleep((unsigned)atoi(argv[7]));
	return 0;
}
