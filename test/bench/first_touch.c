/*
 * test/bench/first_touch.c — what a new process pays to first touch memory,
 * the cost behind a fresh session's verify() (docs/benchmarks.md, 0.13.0).
 *
 * The parent maps MB megabytes of shared anonymous memory (as PostgreSQL
 * maps shared buffers without huge pages) and fills it; each of three
 * forked children then reads one byte of every 4 kB page twice, and first
 * touches 32 MB of fresh private memory in 4 kB pages and in 2 MB pages
 * (MADV_HUGEPAGE).  A child has its own page tables: the first pass maps
 * every page again, the second finds them mapped.  CPU time per thread.
 *
 *   cc -O2 -o /tmp/first_touch test/bench/first_touch.c && /tmp/first_touch 256
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define HUGE (2u << 20)
#define PRIVATE (32u << 20)

static double
cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double
touch_private(int huge)
{
	char	   *m = mmap(NULL, PRIVATE + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char	   *q;
	double		t;

	if (m == MAP_FAILED)
		return -1;
	q = (char *) (((uintptr_t) m + HUGE - 1) & ~((uintptr_t) HUGE - 1));
	(void) madvise(q, PRIVATE, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	t = cpu_ms();
	for (size_t i = 0; i < PRIVATE; i += PAGE)
		q[i] = 1;
	t = cpu_ms() - t;
	munmap(m, PRIVATE + HUGE);
	return t;
}

int
main(int argc, char **argv)
{
	size_t		size = (size_t) (argc > 1 ? atoi(argv[1]) : 256) << 20;
	char	   *shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (shared == MAP_FAILED)
	{
		perror("mmap");
		return 1;
	}
	memset(shared, 1, size);
	for (int c = 0; c < 3; c++)
	{
		if (fork() == 0)
		{
			volatile long sum = 0;

			for (int pass = 0; pass < 2; pass++)
			{
				double		t = cpu_ms();

				for (size_t i = 0; i < size; i += PAGE)
					sum += shared[i + PAGE / 2];
				t = cpu_ms() - t;
				printf("child %d, shared %zu MB, pass %d: %.1f ms CPU, %.2f us per 4 kB page\n",
					   c, size >> 20, pass + 1, t, t * 1000 / (size / PAGE));
			}
			printf("child %d, private 32 MB first touched: 4 kB pages %.1f ms, 2 MB pages %.1f ms\n",
				   c, touch_private(0), touch_private(1));
			fflush(stdout);
			_exit(0);
		}
		wait(NULL);
	}
	return 0;
}
