package database

import (
	"strings"

	"gorm.io/gorm"
)

// InsertSelect inserts into table, in the columns cols, the rows of
// selectSQL ("SELECT … FROM … WHERE …" with its args; a gorm subquery as an
// arg is inlined), skipping every row that would break one of the table's
// unique keys (a row already there, or an earlier row of the same
// statement): a set-based write that is safe to run again. It is one
// statement on every dialect and returns how many rows it inserted.
//
// selectSQL must have a WHERE clause (SQLite would read ON CONFLICT after a
// FROM without one as a join's), and the parameters of its select list must
// stand directly in it, not in a derived table, so that PostgreSQL types
// them by their columns. table, cols and selectSQL must be constants of the
// calling code, never input.
func InsertSelect(db *gorm.DB, table string, cols []string, selectSQL string, args ...any) (int64, error) {
	sql := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") " + selectSQL
	if db.Dialector.Name() == "mysql" {
		// INSERT IGNORE would also turn errors other than a duplicate key
		// (a value too long) into warnings; this skips duplicates only.
		sql += " ON DUPLICATE KEY UPDATE " + table + "." + cols[0] + " = " + table + "." + cols[0]
	} else {
		sql += " ON CONFLICT DO NOTHING" // PostgreSQL and SQLite
	}
	res := db.Exec(sql, args...)
	return res.RowsAffected, res.Error
}
