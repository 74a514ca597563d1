/* The queue driver tests' check that joins racing from several threads
 * make one line: eight threads join 500 users each at the same moment,
 * spread over `instances` queue objects opened on `url` (two on one Redis
 * stand for two boxoffice instances; the memory driver has one). Then
 * every token is distinct, exactly active_max (10) are ACTIVE, the
 * positions 1..W are each taken once, both as each join saw them and as
 * status() tells them afterwards, and every instance counts the same. */
#ifndef BO_TEST_CONCURRENT_JOINS_H
#define BO_TEST_CONCURRENT_JOINS_H

void concurrent_joins_keep_one_line(const char *url, int instances);

#endif
