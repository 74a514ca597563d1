/* Client addresses: parsing addresses and CIDR blocks, the trusted-proxy
 * list (as a setting too), reading X-Forwarded-For only as far as the
 * chain of trusted proxies reaches, and the per-address connection count. */
#include "config.h"
#include "http/client_addr.h"
#include "http/conn_limit.h"
#include "util/netaddr.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct bo_netaddr addr(const char *text) {
  struct bo_netaddr a;
  cr_assert(bo_netaddr_parse(text, strlen(text), &a), "'%s' is an address",
            text);
  return a;
}

static void assert_addr(const struct bo_netaddr *got, const char *want) {
  char text[BO_NETADDR_TEXT_SIZE];
  bo_netaddr_format(got, text);
  cr_assert_str_eq(text, want);
}

/* ---- Addresses and blocks ---------------------------------------------- */

Test(netaddr, ipv4_is_kept_in_its_mapped_form) {
  struct bo_netaddr a = addr("203.0.113.9");
  struct bo_netaddr b = addr("::ffff:203.0.113.9");
  cr_assert_eq(memcmp(a.bytes, b.bytes, sizeof a.bytes), 0);
  cr_assert(bo_netaddr_is_ipv4(&a));
  assert_addr(&a, "203.0.113.9");
  struct bo_netaddr c = addr("2001:db8::1");
  cr_assert_not(bo_netaddr_is_ipv4(&c));
  assert_addr(&c, "2001:db8::1");
}

Test(netaddr, refuses_what_is_not_an_address) {
  const char *bad[] = {"",          "unknown",   "1.2.3",
                       "1.2.3.4.5", "256.1.1.1", "1.2.3.4:80",
                       "[::1]",     " 1.2.3.4",  "::g"};
  struct bo_netaddr a;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_not(bo_netaddr_parse(bad[i], strlen(bad[i]), &a), "'%s'", bad[i]);
}

static struct bo_netrange range(const char *text) {
  struct bo_netrange r;
  cr_assert(bo_netrange_parse(text, strlen(text), &r), "'%s' is a block", text);
  return r;
}

Test(netaddr, blocks_contain_what_they_should) {
  struct bo_netrange r = range("10.0.0.0/8");
  struct bo_netaddr in = addr("10.255.1.2"), out = addr("11.0.0.1");
  cr_assert(bo_netrange_contains(&r, &in));
  cr_assert_not(bo_netrange_contains(&r, &out));
  struct bo_netrange one = range("127.0.0.1");
  struct bo_netaddr lo = addr("127.0.0.1"), lo2 = addr("127.0.0.2");
  cr_assert(bo_netrange_contains(&one, &lo));
  cr_assert_not(bo_netrange_contains(&one, &lo2));
  struct bo_netrange v6 = range("2001:db8::/33");
  struct bo_netaddr a6 = addr("2001:db8:7fff::1"), b6 = addr("2001:db8:8000::");
  cr_assert(bo_netrange_contains(&v6, &a6));
  cr_assert_not(bo_netrange_contains(&v6, &b6));
  /* An IPv4 block never takes in an IPv6 address, and /0 takes in all. */
  struct bo_netrange all4 = range("0.0.0.0/0");
  cr_assert(bo_netrange_contains(&all4, &in));
  cr_assert_not(bo_netrange_contains(&all4, &a6));
}

Test(netaddr, refuses_malformed_blocks) {
  const char *bad[] = {"10.0.0.0/33",  "10.1.2.3/8", "10.0.0.0/",
                       "10.0.0.0/x",   "::/129",     "/8",
                       "10.0.0.0/0008"};
  struct bo_netrange r;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_not(bo_netrange_parse(bad[i], strlen(bad[i]), &r), "'%s'",
                  bad[i]);
}

Test(netaddr, lists) {
  struct bo_netrange r[BO_NETRANGE_LIST_MAX];
  cr_assert_eq(bo_netrange_parse_list("", r, BO_NETRANGE_LIST_MAX), 0);
  cr_assert_eq(bo_netrange_parse_list(" 10.0.0.0/8 , 127.0.0.1,::1", r,
                                      BO_NETRANGE_LIST_MAX),
               3);
  cr_assert_eq(r[2].prefix, 128);
  cr_assert_eq(bo_netrange_parse_list("10.0.0.0/8,,::1", r, 16), -1);
  cr_assert_eq(bo_netrange_parse_list("10.0.0.0/8,", r, 16), -1);
  cr_assert_eq(bo_netrange_parse_list("1.1.1.1,2.2.2.2,3.3.3.3", r, 2), -1);
  cr_assert_eq(bo_netrange_parse_list("1.1.1.1,2.2.2.2", NULL, 2), 2);
}

/* ---- X-Forwarded-For --------------------------------------------------- */

static struct bo_netrange trusted[4];
static int trusted_count;

static void trust(const char *list) {
  trusted_count = bo_netrange_parse_list(list, trusted, 4);
  cr_assert_geq(trusted_count, 0);
}

/* The client for a request from `peer` with these X-Forwarded-For lines. */
static void assert_client(const char *peer, const char *const *lines, size_t n,
                          const char *want) {
  struct bo_netaddr p = addr(peer), got;
  bo_client_addr_resolve(&p, lines, n, trusted, trusted_count, &got);
  assert_addr(&got, want);
}

Test(forwarded, ignored_unless_the_peer_is_trusted) {
  const char *lines[] = {"198.51.100.7"};
  trust("");
  assert_client("203.0.113.9", lines, 1, "203.0.113.9");
  trust("10.0.0.0/8");
  assert_client("203.0.113.9", lines, 1, "203.0.113.9");
}

Test(forwarded, a_trusted_proxy_names_the_client) {
  trust("127.0.0.1");
  const char *lines[] = {"198.51.100.7"};
  assert_client("127.0.0.1", lines, 1, "198.51.100.7");
  /* No header: the proxy itself is all we know. */
  assert_client("127.0.0.1", NULL, 0, "127.0.0.1");
}

Test(forwarded, what_the_client_wrote_itself_is_not_believed) {
  trust("127.0.0.1");
  /* The client sent its own header line, haproxy appended another. */
  const char *two_lines[] = {"1.1.1.1", "198.51.100.7"};
  assert_client("127.0.0.1", two_lines, 2, "198.51.100.7");
  /* Or a proxy appended to the client's line. */
  const char *one_line[] = {"1.1.1.1, 2.2.2.2, 198.51.100.7"};
  assert_client("127.0.0.1", one_line, 1, "198.51.100.7");
}

Test(forwarded, a_chain_of_trusted_proxies_is_walked) {
  trust("10.0.0.0/8, 127.0.0.1");
  /* client -> edge proxy 10.1.1.1 -> haproxy on 127.0.0.1 -> us */
  const char *lines[] = {"6.6.6.6, 198.51.100.7, 10.1.1.1"};
  assert_client("127.0.0.1", lines, 1, "198.51.100.7");
  const char *split[] = {"6.6.6.6", "198.51.100.7", "10.1.1.1"};
  assert_client("127.0.0.1", split, 3, "198.51.100.7");
}

Test(forwarded, junk_stops_at_the_hop_that_sent_it) {
  trust("127.0.0.1");
  const char *junk[] = {"unknown"};
  assert_client("127.0.0.1", junk, 1, "127.0.0.1");
  const char *empty[] = {""};
  assert_client("127.0.0.1", empty, 1, "127.0.0.1");
}

Test(forwarded, ports_brackets_and_ipv6) {
  trust("127.0.0.1,::1");
  const char *v4port[] = {"198.51.100.7:4711"};
  assert_client("127.0.0.1", v4port, 1, "198.51.100.7");
  const char *v6[] = {"2001:db8::7"};
  assert_client("::1", v6, 1, "2001:db8::7");
  const char *v6port[] = {" [2001:db8::7]:4711 "};
  assert_client("::1", v6port, 1, "2001:db8::7");
}

/* ---- The setting ------------------------------------------------------- */

static const char *proxies_value;
static char loaded[1024];

static const char *fake_env(const char *name) {
  return strcmp(name, "BOXOFFICE_TRUSTED_PROXIES") == 0 ? proxies_value : NULL;
}

static enum bo_config_outcome load(const char *value, char **err_text) {
  proxies_value = value;
  struct bo_settings s;
  char *out_buf = NULL;
  size_t out_len = 0, err_len = 0;
  FILE *out = open_memstream(&out_buf, &out_len);
  FILE *err = open_memstream(err_text, &err_len);
  char *argv[] = {"boxoffice", NULL};
  enum bo_config_outcome outcome =
      bo_config_load(1, argv, fake_env, &s, out, err);
  fclose(out);
  fclose(err);
  free(out_buf);
  if (outcome == BO_CONFIG_RUN)
    snprintf(loaded, sizeof loaded, "%s", s.trusted_proxies);
  return outcome;
}

Test(setting, trusted_proxies_are_checked_at_start) {
  char *err = NULL;
  /* By default this host: a local balancer and local tools. */
  cr_assert_eq(load(NULL, &err), BO_CONFIG_RUN);
  cr_assert_str_eq(loaded, "127.0.0.1,::1");
  free(err);
  cr_assert_eq(load("127.0.0.1, 10.0.0.0/8", &err), BO_CONFIG_RUN);
  cr_assert_str_eq(loaded, "127.0.0.1, 10.0.0.0/8");
  free(err);
  /* "none" is how to trust nobody (an empty variable means unset). */
  cr_assert_eq(load("none", &err), BO_CONFIG_RUN);
  cr_assert_str_eq(loaded, "");
  free(err);
  cr_assert_eq(load("10.0.0.0/33", &err), BO_CONFIG_EXIT_ERROR);
  cr_assert(strstr(err, "BOXOFFICE_TRUSTED_PROXIES"), "message: %s", err);
  free(err);
}

/* ---- Open connections per address -------------------------------------- */

static struct bo_conn_limit *conns;

static void conns_done(void) {
  bo_conn_limit_destroy(conns);
  conns = NULL;
}

TestSuite(conn_limit, .fini = conns_done);

/* Admits and opens like the server does; true when let in. */
static bool connect_from(const char *text) {
  struct bo_netaddr a = addr(text);
  if (!bo_conn_limit_admits(conns, &a))
    return false;
  bo_conn_limit_opened(conns, &a);
  return true;
}

static void close_from(const char *text) {
  struct bo_netaddr a = addr(text);
  bo_conn_limit_closed(conns, &a);
}

Test(conn_limit, caps_each_address_and_frees_on_close) {
  conns = bo_conn_limit_create(3, NULL, 0, 100);
  cr_assert_not_null(conns);
  for (int i = 0; i < 3; i++)
    cr_assert(connect_from("198.51.100.7"));
  cr_assert_not(connect_from("198.51.100.7"));
  cr_assert(connect_from("198.51.100.8"), "another address is not capped");
  close_from("198.51.100.7");
  cr_assert(connect_from("198.51.100.7"), "a close makes room");
  cr_assert_not(connect_from("198.51.100.7"));
  for (int i = 0; i < 3; i++)
    close_from("198.51.100.7");
  close_from("198.51.100.8");
  cr_assert_eq(bo_conn_limit_addresses(conns), 0, "nothing kept for nobody");
}

Test(conn_limit, an_ipv6_client_is_its_64) {
  conns = bo_conn_limit_create(2, NULL, 0, 100);
  cr_assert(connect_from("2001:db8:1:2::1"));
  cr_assert(connect_from("2001:db8:1:2:ffff::9"));
  cr_assert_not(connect_from("2001:db8:1:2::77"), "same /64");
  cr_assert(connect_from("2001:db8:1:3::1"), "another /64");
}

Test(conn_limit, trusted_proxies_are_not_capped_nor_counted) {
  struct bo_netrange exempt[2];
  cr_assert_eq(bo_netrange_parse_list("127.0.0.1,10.0.0.0/8", exempt, 2), 2);
  conns = bo_conn_limit_create(1, exempt, 2, 100);
  for (int i = 0; i < 100; i++) {
    struct bo_netaddr lo = addr("127.0.0.1"), lb = addr("10.2.3.4");
    cr_assert(bo_conn_limit_admits(conns, &lo));
    cr_assert_not(bo_conn_limit_opened(conns, &lo), "not counted");
    cr_assert(bo_conn_limit_admits(conns, &lb));
    cr_assert_not(bo_conn_limit_opened(conns, &lb));
  }
  cr_assert_eq(bo_conn_limit_addresses(conns), 0);
  cr_assert(connect_from("127.0.0.2"), "only what is listed is exempt");
  cr_assert_not(connect_from("127.0.0.2"));
}
