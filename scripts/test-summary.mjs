// Prints the one line CI reads, "N passed, N failed, N skipped", from vitest's JSON report.
// A missing or unreadable report counts as a failure: a run that proved nothing must not pass.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? '.vitest-report.json';
try {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const passed = report.numPassedTests ?? 0;
  // A failed suite is counted only when no test failed: a file that did not even load. Otherwise
  // a failing test would be counted again for every describe block around it.
  const failedTests = report.numFailedTests ?? 0;
  const failed = failedTests > 0 ? failedTests : (report.numFailedTestSuites ?? 0);
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
} catch (err) {
  console.error(`test-summary: cannot read ${path}: ${err.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
