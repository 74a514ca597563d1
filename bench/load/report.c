#include "report.h"

#include <math.h>
#include <stdio.h>

double bo_load_seconds_between(uint64_t from_ns, uint64_t to_ns) {
  return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e9 : 0;
}

static double rounded(double value, double unit) {
  return round(value / unit) * unit;
}

void bo_load_report_real(json_t *report, const char *key, double value) {
  json_object_set_new(report, key, json_real(rounded(value, 0.001)));
}

void bo_load_report_int(json_t *report, const char *key, int64_t value) {
  json_object_set_new(report, key, json_integer(value));
}

void bo_load_report_rate(json_t *report, const char *key, double count,
                         double seconds) {
  double rate = seconds > 0 ? count / seconds : 0;
  json_object_set_new(report, key, json_real(rounded(rate, 0.01)));
}

static void set_ms(json_t *report, const char *prefix, const char *name,
                   double us) {
  char key[64];
  snprintf(key, sizeof key, "%s%s%s_ms", prefix, *prefix ? "_" : "", name);
  bo_load_report_real(report, key, us / 1000.0);
}

void bo_load_report_latency(json_t *report, const char *prefix,
                            const struct bo_hist *h) {
  set_ms(report, prefix, "mean", bo_hist_mean_us(h));
  set_ms(report, prefix, "p50", bo_hist_quantile_us(h, 0.50));
  set_ms(report, prefix, "p90", bo_hist_quantile_us(h, 0.90));
  set_ms(report, prefix, "p99", bo_hist_quantile_us(h, 0.99));
  set_ms(report, prefix, "p999", bo_hist_quantile_us(h, 0.999));
  set_ms(report, prefix, "max", (double)h->max_us);
}

static json_t *status_counts(const struct bo_load_stats *s) {
  json_t *status = json_object();
  for (int code = 0; status && code < BO_STATS_STATUS_MAX; code++) {
    if (s->status[code] == 0)
      continue;
    char key[8];
    snprintf(key, sizeof key, "%d", code);
    json_object_set_new(status, key, json_integer((json_int_t)s->status[code]));
  }
  return status;
}

json_t *bo_load_report_new(const struct bo_load_options *o, unsigned threads,
                           const struct bo_load_stats *s, double seconds) {
  json_t *r = json_object();
  if (!r)
    return NULL;
  json_object_set_new(r, "workload",
                      json_string(bo_load_workload_name(o->workload)));
  bo_load_report_int(r, "seed", (int64_t)o->seed);
  bo_load_report_int(r, "connections", o->connections);
  bo_load_report_int(r, "threads", threads);
  bo_load_report_int(r, "requests", (int64_t)s->requests);
  bo_load_report_real(r, "seconds", seconds);
  bo_load_report_rate(r, "rps", (double)s->requests, seconds);
  bo_load_report_latency(r, "", &s->latency);
  bo_load_report_int(r, "errors", (int64_t)bo_load_stats_errors(s));
  bo_load_report_int(r, "server_errors", (int64_t)s->server_errors);
  bo_load_report_int(r, "transport_errors", (int64_t)s->transport_errors);
  bo_load_report_int(r, "unexpected", (int64_t)s->unexpected);
  json_object_set_new(r, "status", status_counts(s));
  bo_load_report_int(r, "reconnects", (int64_t)s->reconnects);
  return r;
}

bool bo_load_report_print(json_t *report) {
  bool ok = json_dumpf(report, stdout,
                       JSON_COMPACT | JSON_PRESERVE_ORDER |
                           JSON_REAL_PRECISION(15)) == 0;
  json_decref(report);
  ok = ok && fputc('\n', stdout) != EOF && fflush(stdout) == 0;
  return ok;
}
