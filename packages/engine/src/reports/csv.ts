// Reads CSV (RFC 4180): the prompt import's files, and the export's output in tests.

export interface CsvRecord {
  /** The 1-based line of the file the record starts on (a quoted field may span lines). */
  line: number;
  fields: string[];
}

/**
 * Records of `text`: fields split on commas, quoted fields may hold commas, doubled quotes, CR and
 * LF; lines end in LF or CRLF; blank lines are skipped. A quote opens a quoted field only at the
 * field's start (elsewhere it is text). An unclosed quote is an error at its record's line.
 */
export function csvRecords(text: string): CsvRecord[] | { line: number; message: string } {
  const out: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      if (fields.length > 1 || fields[0] !== '') out.push({ line: recordLine, fields });
      fields = [];
      field = '';
      line++;
      recordLine = line;
    } else field += c;
  }
  if (quoted) return { line: recordLine, message: 'a quoted field is not closed' };
  if (field !== '' || fields.length) out.push({ line: recordLine, fields: [...fields, field] });
  return out;
}
