package database

import (
	"strconv"
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

// AddUp writes rows (values of cols, in order) into table as running
// totals, in one statement on every dialect: a row whose key (the columns
// keys, which must be the table's primary key, leading cols) is new is
// inserted; one whose key is there adds its sums columns to the stored
// ones, keeps the lesser of its mins columns and the greater of its maxs
// columns (NULL standing for none). Give rows in key order, no key twice,
// so that writers of the same keys lock them in the same order. table and
// the column names must be constants of the calling code, never input.
func AddUp(db *gorm.DB, table string, keys, sums, mins, maxs []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	cols := append(append(append(append([]string{}, keys...), sums...), mins...), maxs...)
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	args := make([]any, 0, len(rows)*len(cols))
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
		args = append(args, r...)
	}
	old, added := func(c string) string { return table + "." + c }, func(c string) string { return "excluded." + c }
	if db.Dialector.Name() == "mysql" {
		old, added = func(c string) string { return c }, func(c string) string { return "VALUES(" + c + ")" }
		b.WriteString(" ON DUPLICATE KEY UPDATE ")
	} else {
		b.WriteString(" ON CONFLICT (" + strings.Join(keys, ", ") + ") DO UPDATE SET ")
	}
	var set []string
	for _, c := range sums {
		set = append(set, c+" = "+old(c)+" + "+added(c))
	}
	keep := func(c, cmp string) string {
		return c + " = CASE WHEN " + added(c) + " IS NULL OR (" + old(c) + " IS NOT NULL AND " + old(c) + cmp + added(c) + ") THEN " + old(c) + " ELSE " + added(c) + " END"
	}
	for _, c := range mins {
		set = append(set, keep(c, " <= "))
	}
	for _, c := range maxs {
		set = append(set, keep(c, " >= "))
	}
	b.WriteString(strings.Join(set, ", "))
	return db.Exec(b.String(), args...).Error
}

// Numbered turns a statement's ? placeholders into PostgreSQL's $1, $2, …,
// for a hand-written statement run straight on pgx (the statement has no ?
// of its own: no literal or operator holds one).
func Numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, part := range strings.Split(q, "?") {
		if n > 0 {
			b.WriteString("$" + strconv.Itoa(n))
		}
		b.WriteString(part)
		n++
	}
	return b.String()
}
