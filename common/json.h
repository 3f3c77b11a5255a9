/*
 * json.h - a tiny JSON writer for --json output.
 *
 * Enough for the objects and arrays tuna prints, written as they are
 * produced (no tree in memory), with strings escaped as RFC 8259 asks.
 * Commas are placed by the writer, so a step just says what comes next:
 *
 *   json_begin_object(&j);
 *   json_key(&j, "name"); json_string(&j, "myContainer");
 *   json_key(&j, "used"); json_u64(&j, 63488);
 *   json_end_object(&j);
 *   json_finish(&j);        -- prints the final newline
 */
#ifndef TUNA_JSON_H
#define TUNA_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	/* per level: has a value been written at this level yet? */
	unsigned char not_first[JSON_MAX_DEPTH];
	/* a key was just written: the next value needs no comma */
	int after_key;
};

void json_init(struct json *j, FILE *out);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
void json_finish(struct json *j);

#endif
