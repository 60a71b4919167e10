import type { Report } from '../../../src/report/model.js';

/**
 * A small report with every row status, text that needs escaping in each
 * format, a control character, and an empty section.
 */
export function sampleReport(): Report {
  const columns = [
    { key: 'index', header: 'Index' },
    { key: 'status', header: 'Status' },
    { key: 'reason', header: 'Reason' },
  ];
  return {
    command: 'apply',
    title: 'dbtune apply: week3',
    passed: false,
    sections: [
      {
        title: 'indexes',
        columns,
        rows: [
          { id: 'public.idx_ok', status: 'pass', cells: { index: 'public.idx_ok', status: 'created', reason: 'built in 1.5 s' }, seconds: 1.5 },
          {
            id: 'public.idx_fail',
            status: 'fail',
            cells: { index: 'public.idx_fail', status: 'failed', reason: 'a | b' },
            message: `build failed: <oops> & "quoted" 'x'`,
            details: ['ERROR: x < y & z', 'bell\u0007here'],
            seconds: 0.25,
          },
          { id: 'public.idx_skip', status: 'skip', cells: { index: 'public.idx_skip', status: 'skipped', reason: 'table locked' }, message: 'skipped: lock held' },
          {
            id: 'public."Weird|Name"',
            status: 'warn',
            cells: { index: 'public."Weird|Name"', status: 'drift', reason: 'line one\nline two' },
            details: ['using: declared hash, live btree'],
          },
        ],
      },
      {
        title: 'checks',
        columns,
        rows: [
          { id: 'check_orders', status: 'info', cells: { index: 'check_orders', status: 'ran', reason: '' } },
          { id: 'check_profiles', status: 'fail', cells: { index: 'check_profiles', status: 'failed', reason: 'seq scan' } },
        ],
      },
      { title: 'leftovers', columns, rows: [] },
    ],
    summary: '4 indexes: 1 created, 1 failed, 1 skipped, 1 drift',
    notes: ['run `dbtune plan` to see which sessions block the build'],
    document: {},
  };
}
