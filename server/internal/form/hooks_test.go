package form

// SetMaxSheetRows makes the export's sheets hold at most n rows, header
// included, until the returned function restores Excel's limit.
func SetMaxSheetRows(n int) (restore func()) {
	old := maxSheetRows
	maxSheetRows = n
	return func() { maxSheetRows = old }
}
