// What a run's matrix sorts by (the API's schema and the monitor load this in a browser: no imports).

/** Fields of a row: the prompt's. */
export const MATRIX_ROW_FIELDS = ['index', 'prompt', 'expected'] as const;
export type MatrixRowField = (typeof MATRIX_ROW_FIELDS)[number];
/** Fields of a cell: one column's (model and repeat) item. */
export const MATRIX_CELL_FIELDS = ['status', 'latency', 'tokens', 'cost', 'output'] as const;
export type MatrixCellField = (typeof MATRIX_CELL_FIELDS)[number];
export const MATRIX_SORT_FIELDS = [...MATRIX_ROW_FIELDS, ...MATRIX_CELL_FIELDS] as const;

export const isRowField = (f: string): f is MatrixRowField => (MATRIX_ROW_FIELDS as readonly string[]).includes(f);
