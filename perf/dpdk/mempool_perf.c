/*
 * The inner loop of DPDK's own mempool_perf_autotest (app/test/test_mempool_perf.c,
 * per_lcore_mempool_test), for one lcore and one configuration at a time, so the
 * figures Strata is compared with come from DPDK's code path measured DPDK's way,
 * in seconds rather than the ~40 minutes the full autotest takes here.
 *
 * Usage: mempool_perf [EAL args] -- CACHE N_GET N_PUT N_KEEP SECONDS [mbuf]
 * With "mbuf", the objects are packet buffers taken and given back with
 * rte_pktmbuf_alloc_bulk / rte_pktmbuf_free_bulk (what a DPDK application
 * calls), the peer of Strata's NetBuf-level calls; otherwise raw objects
 * through rte_mempool_generic_get/put, as the autotest does.
 * Prints one line like the autotest:
 *   mempool_autotest cache=512 cores=1 n_get_bulk=32 n_put_bulk=32 n_keep=32 rate_persec=...
 * and the TSC frequency (tsc_hz=...).
 *
 * Written for Strata (MIT OR Apache-2.0); it links DPDK (BSD-3-Clause) at build time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <inttypes.h>

#include <rte_eal.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <string.h>

#define N 65536
#define MAX_KEEP 512
#define ELT_SIZE 2048

int main(int argc, char **argv)
{
	int used = rte_eal_init(argc, argv);
	if (used < 0) {
		fprintf(stderr, "mempool_perf: EAL init failed\n");
		return 2;
	}
	argc -= used;
	argv += used;
	int mbuf = argc == 7 && strcmp(argv[6], "mbuf") == 0;
	if (argc != 6 && !mbuf) {
		fprintf(stderr, "usage: mempool_perf [EAL] -- CACHE N_GET N_PUT N_KEEP SECONDS\n");
		return 2;
	}
	unsigned cache_size = (unsigned)atoi(argv[1]);
	unsigned n_get = (unsigned)atoi(argv[2]);
	unsigned n_put = (unsigned)atoi(argv[3]);
	unsigned n_keep = (unsigned)atoi(argv[4]);
	double seconds = atof(argv[5]);
	if (n_get == 0 || n_put == 0 || n_keep == 0 || n_keep > MAX_KEEP ||
	    n_keep % n_get || n_keep % n_put || seconds <= 0) {
		fprintf(stderr, "mempool_perf: bad parameters\n");
		return 2;
	}
	/* The autotest's pool size: lcores * (MAX_KEEP + cache max) - 1. */
	unsigned size = rte_lcore_count() * (MAX_KEEP + RTE_MEMPOOL_CACHE_MAX_SIZE) - 1;
	struct rte_mempool *mp = mbuf
		? rte_pktmbuf_pool_create("strata_perf", size, cache_size, 0,
					  ELT_SIZE, SOCKET_ID_ANY)
		: rte_mempool_create("strata_perf", size, ELT_SIZE,
				     cache_size, 0, NULL, NULL, NULL, NULL,
				     SOCKET_ID_ANY, 0);
	if (mp == NULL) {
		fprintf(stderr, "mempool_perf: cannot create mempool\n");
		return 2;
	}
	struct rte_mempool_cache *cache = rte_mempool_default_cache(mp, rte_lcore_id());
	void *obj_table[MAX_KEEP];
	uint64_t hz = rte_get_timer_hz();
	uint64_t count = 0;
	uint64_t start = rte_get_timer_cycles();
	uint64_t diff = 0;
	while ((double)diff / (double)hz < seconds) {
		for (unsigned i = 0; i < N / n_keep; i++) {
			unsigned idx = 0;
			while (idx < n_keep) {
				int r = mbuf
					? rte_pktmbuf_alloc_bulk(mp, (struct rte_mbuf **)&obj_table[idx], n_get)
					: rte_mempool_generic_get(mp, &obj_table[idx], n_get, cache);
				if (r < 0) {
					fprintf(stderr, "mempool_perf: get failed\n");
					return 1;
				}
				idx += n_get;
			}
			idx = 0;
			while (idx < n_keep) {
				if (mbuf)
					rte_pktmbuf_free_bulk((struct rte_mbuf **)&obj_table[idx], n_put);
				else
					rte_mempool_generic_put(mp, &obj_table[idx], n_put, cache);
				idx += n_put;
			}
		}
		diff = rte_get_timer_cycles() - start;
		count += N;
	}
	double secs = (double)diff / (double)hz;
	printf("%s cache=%u cores=1 n_get_bulk=%u n_put_bulk=%u n_keep=%u rate_persec=%.0f\n",
	       mbuf ? "pktmbuf" : "mempool_autotest", cache ? cache_size : 0, n_get, n_put, n_keep, (double)count / secs);
	printf("tsc_hz=%" PRIu64 "\n", rte_get_tsc_hz());
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}
