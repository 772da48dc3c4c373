// Package xlsx builds Excel workbooks for exports without holding them in
// memory: rows stream to temporary files sheet by sheet, a sheet that is
// full continues on the next one, and the finished file is compressed
// straight into the response.
package xlsx

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// ContentType is the media type of a workbook.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// MaxRows is the most rows a worksheet holds, header included (Excel's
// limit).
const MaxRows = excelize.TotalRows

// Workbook is an export being built or waiting to be written: its sheets
// sit in temporary files, not in memory. Close removes them.
type Workbook struct {
	// Filename is the suggested file name.
	Filename string
	// Rows counts the data rows of each sheet (headers not included; a
	// sheet continued on further sheets counts under its first name).
	Rows  map[string]int
	f     *excelize.File
	bold  int
	first bool // the next sheet takes the place of the default "Sheet1"
}

// New returns an empty workbook whose sheets are kept in tmpDir ("" means
// the system's temporary directory) while they are built.
func New(tmpDir, filename string) (*Workbook, error) {
	f := excelize.NewFile(excelize.Options{TmpDir: tmpDir})
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &Workbook{Filename: filename, Rows: map[string]int{}, f: f, bold: bold, first: true}, nil
}

// Name is the suggested file name.
func (wb *Workbook) Name() string { return wb.Filename }

// ContentType is the workbook's media type.
func (wb *Workbook) ContentType() string { return ContentType }

// WriteTo writes the .xlsx file to w as it compresses it, without holding
// the file in memory.
func (wb *Workbook) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	// excelize builds the zip in a bytes.Buffer unless it is given a zip
	// writer of its own: this one writes straight through, so the buffer
	// stays empty.
	wb.f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(cw)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.BestSpeed)
		})
		return zw
	})
	buf, err := wb.f.WriteToBuffer()
	if err == nil && buf.Len() > 0 {
		err = errors.New("xlsx: workbook buffered in memory")
	}
	return cw.n, err
}

// Close removes the workbook's temporary files.
func (wb *Workbook) Close() error { return wb.f.Close() }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Sheet streams rows to a worksheet, after a bold, frozen header row, and
// continues on a sheet named like "党员 (2)" when one holds maxRows rows.
// Sheets of a workbook are written one after the other: Flush one before
// the next is started.
type Sheet struct {
	wb      *Workbook
	name    string
	headers []string
	widths  []float64
	maxRows int

	part int                    // 1 for the first sheet
	sw   *excelize.StreamWriter // the current sheet
	row  int                    // rows written to it, header included
}

// Sheet starts a sheet with the header row and column widths; maxRows
// (header included) is MaxRows when it is not positive.
func (wb *Workbook) Sheet(name string, headers []string, widths []float64, maxRows int) *Sheet {
	if maxRows <= 1 || maxRows > MaxRows {
		maxRows = MaxRows
	}
	wb.Rows[name] = 0
	return &Sheet{wb: wb, name: name, headers: headers, widths: widths, maxRows: maxRows}
}

func (s *Sheet) start() error {
	s.part++
	name := s.name
	if s.part > 1 {
		if err := s.sw.Flush(); err != nil {
			return err
		}
		name = s.name + " (" + strconv.Itoa(s.part) + ")"
	}
	f := s.wb.f
	if s.wb.first {
		s.wb.first = false
		if err := f.SetSheetName("Sheet1", name); err != nil {
			return err
		}
	} else if _, err := f.NewSheet(name); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for i, width := range s.widths {
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	header := make([]any, len(s.headers))
	for i, h := range s.headers {
		header[i] = h
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{StyleID: s.wb.bold}); err != nil {
		return err
	}
	s.sw, s.row = sw, 1
	return nil
}

// Add writes one data row.
func (s *Sheet) Add(values ...any) error {
	if s.sw == nil || s.row >= s.maxRows {
		if err := s.start(); err != nil {
			return err
		}
	}
	s.row++
	s.wb.Rows[s.name]++
	cell, err := excelize.CoordinatesToCellName(1, s.row)
	if err != nil {
		return err
	}
	return s.sw.SetRow(cell, values)
}

// Flush ends the sheet (a sheet without rows keeps its header).
func (s *Sheet) Flush() error {
	if s.sw == nil {
		if err := s.start(); err != nil {
			return err
		}
	}
	return s.sw.Flush()
}

// Time is a time as an export shows it: in loc, to the second; "" for none.
func Time(t *time.Time, loc *time.Location) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.DateTime)
}
