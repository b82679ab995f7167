/* Placement: balance, weights, failure domains, stability under failures and growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/map.h"
#include "cluster/placement.h"
#include "common/errors.h"

#define POOL 0x00020402

static void mkmap(struct gl_map *m, int n, int racks, int hosts_per_rack)
{
	memset(m, 0, sizeof(*m));
	m->epoch = 1;
	m->n = (uint32_t)n;
	m->ds = calloc((size_t)n, sizeof(*m->ds));
	for (int i = 0; i < n; i++) {
		struct gl_ds_info *d = &m->ds[i];
		int host = i % (racks * hosts_per_rack);

		d->id = (uint32_t)i + 1;
		snprintf(d->addr, sizeof(d->addr), "127.0.0.1:%d", 7000 + i);
		snprintf(d->rack, sizeof(d->rack), "r%d", host % racks);
		snprintf(d->host, sizeof(d->host), "h%d", host);
		d->state = GL_DS_UP;
		d->cap_total = 1ull << 40;
	}
}

static void chunk(int i, uint8_t c[GL_CHUNK_ID_LEN])
{
	memset(c, 0, GL_CHUNK_ID_LEN);
	memcpy(c, &i, sizeof(i));
	c[20] = (uint8_t)(i * 7);
}

static void test_balance_and_distinct(void **s)
{
	struct gl_map m;
	int count[6] = {0};

	(void)s;
	mkmap(&m, 6, 1, 6);
	for (int i = 0; i < 10000; i++) {
		struct gl_placement p;
		uint8_t c[32];
		int seen = 0;

		chunk(i, c);
		assert_int_equal(gl_place(&m, POOL, c, 6, &p), 0);
		for (int j = 0; j < 6; j++) {
			assert_true(p.slot[j] >= 0);
			assert_false(seen >> p.slot[j] & 1);
			seen |= 1 << p.slot[j];
			if (j == 0)
				count[p.slot[j]]++;
		}
	}
	for (int i = 0; i < 6; i++)
		assert_true(count[i] > 10000 / 6 * 0.9 && count[i] < 10000 / 6 * 1.1);
	gl_map_free(&m);
}

static void test_weights(void **s)
{
	struct gl_map m;
	int count[4] = {0};

	(void)s;
	mkmap(&m, 4, 1, 4);
	m.ds[0].cap_total *= 2;
	for (int i = 0; i < 20000; i++) {
		struct gl_placement p;
		uint8_t c[32];

		chunk(i, c);
		gl_place(&m, 0x00010100, c, 1, &p);
		count[p.slot[0]]++;
	}
	/* weight 2 of total 5: 40% */
	assert_true(count[0] > 20000 * 0.36 && count[0] < 20000 * 0.44);
	gl_map_free(&m);
}

static void test_domains(void **s)
{
	struct gl_map m;

	(void)s;
	mkmap(&m, 12, 3, 2); /* 3 racks x 2 hosts, 2 servers per host */
	for (int i = 0; i < 2000; i++) {
		struct gl_placement p;
		uint8_t c[32];

		chunk(i, c);
		gl_place(&m, POOL, c, 3, &p);
		for (int a = 0; a < 3; a++)
			for (int b = a + 1; b < 3; b++)
				assert_string_not_equal(m.ds[p.slot[a]].rack, m.ds[p.slot[b]].rack);
		gl_place(&m, POOL, c, 6, &p);
		for (int a = 0; a < 6; a++)
			for (int b = a + 1; b < 6; b++)
				assert_false(
				    strcmp(m.ds[p.slot[a]].rack, m.ds[p.slot[b]].rack) == 0 &&
				    strcmp(m.ds[p.slot[a]].host, m.ds[p.slot[b]].host) == 0);
	}
	gl_map_free(&m);
}

static void test_stability(void **s)
{
	struct gl_map m, grown;
	int moved = 0, total = 0;

	(void)s;
	mkmap(&m, 8, 1, 8);
	for (int i = 0; i < 5000; i++) {
		struct gl_placement a, b;
		uint8_t c[32];

		chunk(i, c);
		gl_place(&m, POOL, c, 6, &a);
		m.ds[3].state = GL_DS_DOWN;
		gl_place(&m, POOL, c, 6, &b);
		assert_memory_equal(a.slot, b.slot, sizeof(a.slot)); /* DOWN moves nothing */
		for (int h = 0; h < b.nhandoff; h++)
			for (int j = 0; j < 6; j++)
				assert_int_not_equal(b.handoff[h], b.slot[j]);
		m.ds[3].state = GL_DS_OUT;
		gl_place(&m, POOL, c, 6, &b);
		for (int j = 0; j < 6; j++) {
			if (a.slot[j] == 3)
				assert_int_not_equal(b.slot[j], 3);
			else
				assert_int_equal(a.slot[j],
						 b.slot[j]); /* only its own slots move */
		}
		for (int h = 0; h < b.nhandoff; h++)
			assert_int_not_equal(b.handoff[h], 3);
		m.ds[3].state = GL_DS_UP;
	}
	/* growth: a 9th server takes about 1/9 of the fragments */
	mkmap(&grown, 9, 1, 9);
	for (int i = 0; i < 5000; i++) {
		struct gl_placement a, b;
		uint8_t c[32];

		chunk(i, c);
		gl_place(&m, POOL, c, 6, &a);
		gl_place(&grown, POOL, c, 6, &b);
		for (int j = 0; j < 6; j++) {
			total++;
			moved += a.slot[j] != b.slot[j];
		}
	}
	printf("growth 8 -> 9 servers moved %.1f%% of fragments\n", 100.0 * moved / total);
	assert_true(moved < total * 2 / 9);
	gl_map_free(&m);
	gl_map_free(&grown);
}

static void test_few_servers(void **s)
{
	struct gl_map m;
	struct gl_placement p;
	uint8_t c[32] = {1};

	(void)s;
	mkmap(&m, 4, 1, 4);
	assert_int_equal(gl_place(&m, POOL, c, 6, &p), 0);
	for (int j = 0; j < 4; j++)
		assert_true(p.slot[j] >= 0);
	assert_int_equal(p.slot[4], -1);
	assert_int_equal(p.slot[5], -1);
	for (int i = 0; i < 4; i++)
		m.ds[i].state = GL_DS_OUT;
	assert_int_equal(gl_place(&m, POOL, c, 6, &p), -GL_EUNAVAIL);
	gl_map_free(&m);
}

static void test_map_codec(void **s)
{
	struct gl_map m, back;
	struct gl_wbuf b;
	struct gl_rbuf r;

	(void)s;
	mkmap(&m, 5, 2, 2);
	gl_wbuf_init(&b);
	gl_map_encode(&m, &b);
	gl_rbuf_init(&r, b.p, b.len);
	assert_int_equal(gl_map_decode(&r, &back), 0);
	assert_int_equal(back.n, 5);
	assert_memory_equal(back.ds, m.ds, sizeof(*m.ds) * 5);
	gl_map_free(&back);
	for (size_t cut = 0; cut < b.len; cut++) {
		gl_rbuf_init(&r, b.p, cut);
		assert_int_equal(gl_map_decode(&r, &back), -GL_EPROTO);
	}
	srand(1);
	for (int i = 0; i < 10000; i++) {
		uint8_t *x = malloc(b.len);

		memcpy(x, b.p, b.len);
		x[rand() % b.len] ^= (uint8_t)(1 + rand() % 255);
		gl_rbuf_init(&r, x, b.len);
		if (gl_map_decode(&r, &back) == 0)
			gl_map_free(&back);
		free(x);
	}
	gl_wbuf_free(&b);
	gl_map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_balance_and_distinct),
	    cmocka_unit_test(test_weights),
	    cmocka_unit_test(test_domains),
	    cmocka_unit_test(test_stability),
	    cmocka_unit_test(test_few_servers),
	    cmocka_unit_test(test_map_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
