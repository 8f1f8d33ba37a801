/*
 * ns per pcap_compile() for each expression of bench/exprs.txt, measured exactly as
 * filter-compiler/benches/compile_ns.rs measures bpfdump's compile():
 *
 *   one warm-up compile; N doubled from 1 until N compiles take at least ROUND_MS
 *   (default 20 ms); then 5 rounds of N compiles; the best round divided by N.
 *
 * Each compile is pcap_compile(p, &prog, expr, optimize, PCAP_NETMASK_UNKNOWN) on a
 * pcap_open_dead(DLT_EN10MB, 262144) handle, followed by pcap_freecode(&prog).
 *
 * Output, tab-separated, one line per expression and optimize setting:
 *   label  optimize(1|0)  offline  ns_per_compile  instructions(bf_len)
 * (ERR and libpcap's message in place of the last two when it does not compile).
 *
 * Build: gcc -O2 -o pcap_compile_bench bench/pcap_compile_bench.c -lpcap
 * Run:   ./pcap_compile_bench bench/exprs.txt [ROUND_MS]
 */
#define _DEFAULT_SOURCE
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <time.h>

#define ROUNDS 5

static pcap_t *p;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void compile_once(const char *expr, int optimize)
{
	struct bpf_program prog;
	if (pcap_compile(p, &prog, expr, optimize, PCAP_NETMASK_UNKNOWN) == 0)
		pcap_freecode(&prog);
}

static double measure(const char *expr, int optimize, double round_ms)
{
	double min_round = round_ms * 1e6, best = 1e300, t, ns;
	unsigned long n = 1, i;
	int r;

	compile_once(expr, optimize);
	for (;;) {
		t = now_ns();
		for (i = 0; i < n; i++)
			compile_once(expr, optimize);
		ns = now_ns() - t;
		if (ns >= min_round || n >= (1UL << 30))
			break;
		n *= 2;
	}
	for (r = 0; r < ROUNDS; r++) {
		t = now_ns();
		for (i = 0; i < n; i++)
			compile_once(expr, optimize);
		ns = now_ns() - t;
		if (ns < best)
			best = ns;
	}
	return best / (double)n;
}

int main(int argc, char **argv)
{
	char line[8192];
	double round_ms = 20;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: %s EXPRS_FILE [ROUND_MS]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		round_ms = atof(argv[2]);
	f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	p = pcap_open_dead(DLT_EN10MB, 262144);
	if (!p) {
		fprintf(stderr, "pcap_open_dead failed\n");
		return 1;
	}
	while (fgets(line, sizeof line, f)) {
		char *label, *expr, *end;
		int optimize;

		line[strcspn(line, "\r\n")] = 0;
		label = line;
		while (isspace((unsigned char)*label))
			label++;
		if (*label == 0 || *label == '#')
			continue;
		expr = label;
		while (*expr && !isspace((unsigned char)*expr))
			expr++;
		if (*expr)
			*expr++ = 0;
		while (isspace((unsigned char)*expr))
			expr++;
		end = expr + strlen(expr);
		while (end > expr && isspace((unsigned char)end[-1]))
			*--end = 0;

		for (optimize = 1; optimize >= 0; optimize--) {
			struct bpf_program prog;
			if (pcap_compile(p, &prog, expr, optimize, PCAP_NETMASK_UNKNOWN) != 0) {
				printf("%s\t%d\toffline\tERR\t%s\n", label, optimize, pcap_geterr(p));
				continue;
			}
			unsigned len = prog.bf_len;
			pcap_freecode(&prog);
			printf("%s\t%d\toffline\t%.0f\t%u\n", label, optimize,
			       measure(expr, optimize, round_ms), len);
			fflush(stdout);
		}
	}
	fclose(f);
	pcap_close(p);
	printf("# libpcap: %s\n", pcap_lib_version());
	return 0;
}
