/* Reads an iCalendar feed with libical (Debian's libical3: Evolution, Cyrus and
 * the GNOME calendar read feeds with it) and prints what it understood as one
 * JSON object on stdout, in the shape every reader in tests/calendar_clients.rs
 * prints:
 *
 *   {"name": ..., "description": ..., "x_wr_calname": ..., "x_wr_caldesc": ...,
 *    "errors": ["..."],
 *    "events": [{"uid", "summary", "description", "location", "status",
 *                "start", "end"}]}
 *
 * `start` and `end` are Unix seconds, converted through the feed's own
 * VTIMEZONEs. `errors` lists every X-LIC-ERROR libical attached while parsing
 * and after `icalrestriction_check`, which applies RFC 5546's rules.
 *
 *   cc dump.c $(pkg-config --cflags --libs libical) -o dump && ./dump feed.ics
 *
 * Exits 0 when it could read the feed (errors or not), 2 when it could not. */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_string(const char *s) {
    if (s == NULL) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (*p < 0x20) printf("\\u%04x", *p);
            else putchar(*p);
        }
    }
    putchar('"');
}

/* The unescaped text of the first property of `kind` in `c`, or NULL. */
static const char *text_of(icalcomponent *c, icalproperty_kind kind) {
    icalproperty *p = icalcomponent_get_first_property(c, kind);
    if (p == NULL) return NULL;
    icalvalue *v = icalproperty_get_value(p);
    if (v == NULL) return NULL;
    if (icalvalue_isa(v) == ICAL_TEXT_VALUE) return icalvalue_get_text(v);
    return icalvalue_as_ical_string(v);
}

/* The value of the first X- property named `name` in `c`, as libical keeps it. */
static const char *x_of(icalcomponent *c, const char *name) {
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_X_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(c, ICAL_X_PROPERTY)) {
        const char *n = icalproperty_get_x_name(p);
        if (n != NULL && strcmp(n, name) == 0) return icalproperty_get_x(p);
    }
    return NULL;
}

static int first_error = 1;

static void errors_of(icalcomponent *c) {
    /* Read before the loop: icalcomponent_get_uid moves the property iterator. */
    const char *uid = icalcomponent_get_uid(c);
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
         p != NULL; p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
        if (!first_error) putchar(',');
        first_error = 0;
        char buf[4096];
        snprintf(buf, sizeof buf, "%s%s%s: %s", icalcomponent_kind_to_string(icalcomponent_isa(c)),
                 uid ? " " : "", uid ? uid : "", icalproperty_get_xlicerror(p));
        json_string(buf);
    }
    for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s != NULL;
         s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
        errors_of(s);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: dump feed.ics\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    text[n] = '\0';
    fclose(f);

    icalcomponent *cal = icalparser_parse_string(text);
    if (cal == NULL || icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
        fprintf(stderr, "libical found no VCALENDAR\n");
        return 2;
    }
    icalrestriction_check(cal);

    fputs("{\"name\":", stdout);
    json_string(text_of(cal, ICAL_NAME_PROPERTY));
    fputs(",\"description\":", stdout);
    json_string(text_of(cal, ICAL_DESCRIPTION_PROPERTY));
    fputs(",\"x_wr_calname\":", stdout);
    json_string(x_of(cal, "X-WR-CALNAME"));
    fputs(",\"x_wr_caldesc\":", stdout);
    json_string(x_of(cal, "X-WR-CALDESC"));
    fputs(",\"errors\":[", stdout);
    errors_of(cal);
    fputs("],\"events\":[", stdout);
    int first = 1;
    for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
         ev != NULL; ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        if (!first) putchar(',');
        first = 0;
        struct icaltimetype start = icalcomponent_get_dtstart(ev);
        struct icaltimetype end = icalcomponent_get_dtend(ev);
        fputs("{\"uid\":", stdout);
        json_string(icalcomponent_get_uid(ev));
        fputs(",\"summary\":", stdout);
        json_string(text_of(ev, ICAL_SUMMARY_PROPERTY));
        fputs(",\"description\":", stdout);
        json_string(text_of(ev, ICAL_DESCRIPTION_PROPERTY));
        fputs(",\"location\":", stdout);
        json_string(text_of(ev, ICAL_LOCATION_PROPERTY));
        fputs(",\"status\":", stdout);
        icalproperty *st = icalcomponent_get_first_property(ev, ICAL_STATUS_PROPERTY);
        json_string(st ? icalproperty_status_to_string(icalproperty_get_status(st)) : NULL);
        printf(",\"start\":%lld,\"end\":%lld}",
               (long long)icaltime_as_timet_with_zone(start, start.zone),
               (long long)icaltime_as_timet_with_zone(end, end.zone));
    }
    fputs("]}\n", stdout);
    icalcomponent_free(cal);
    free(text);
    return 0;
}
