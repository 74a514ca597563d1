/* The SQL migrations compiled into the binary (cmake/embed_migrations.cmake
 * turns src/store/migrations/<driver>/NNNN_name.sql into these arrays). Each
 * array is in version order and ends with a NULL sql. */
#ifndef BO_STORE_MIGRATIONS_H
#define BO_STORE_MIGRATIONS_H

struct bo_migration {
  int version;
  const char *name;
  const char *sql;
};

extern const struct bo_migration bo_migrations_sqlite[];
extern const struct bo_migration bo_migrations_postgres[];

#endif
