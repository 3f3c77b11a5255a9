/*
 * fuzz_caps.c - a libFuzzer harness for 08-harden's --caps parser
 * (steps/08-harden/caps.h).  tests/fuzz/run builds it as:
 *
 *   clang -fsanitize=fuzzer,address,undefined -Isteps/08-harden \
 *         tests/fuzz/fuzz_caps.c steps/08-harden/caps.c -o build/fuzz/caps
 *
 * Each input is a --caps value as typed (up to its first NUL).  Besides
 * "no crash, no undefined behaviour", the parser keeps its contract: 0 or
 * -EINVAL; the mask untouched on failure and the bad item named, a
 * NUL-terminated string that is part of the input; on success only the
 * table's capabilities, and each name in the list is in the mask.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caps.h"

#define POISON 0xdeadbeefcafef00dULL
#define TABLE_MASK ((UINT64_C(1) << (CAP_TABLE_LAST + 1)) - 1)

#define must(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size), bad[64], names[2048];
	uint64_t mask = POISON;
	int r;

	if (!text)
		return 0;
	memset(bad, 'x', sizeof(bad));
	r = cap_parse_list(text, &mask, bad, sizeof(bad));
	must(r == 0 || r == -EINVAL);
	must(memchr(bad, '\0', sizeof(bad)) != NULL);
	if (r < 0) {
		must(mask == POISON);
		must(strstr(text, bad) != NULL);
	} else {
		must((mask & ~TABLE_MASK) == 0);
		if (strcmp(text, "default") == 0)
			must(mask == cap_docker_default());
		/* Every name printed for the mask parses back to the same mask. */
		cap_mask_names(names, sizeof(names), mask);
		if (mask) {
			uint64_t again = POISON;

			for (char *p = names; *p; p++)
				if (*p == '|')
					*p = ',';
			must(cap_parse_list(names, &again, bad, sizeof(bad)) == 0 && again == mask);
		}
	}
	free(text);
	return 0;
}
