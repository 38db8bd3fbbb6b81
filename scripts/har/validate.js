// Validates HAR files against the HAR 1.2 JSON schema with har-validator
// (npm; .ci/run installs it into $HOME/.cache/wscap-npm):
//   NODE_PATH=$HOME/.cache/wscap-npm/node_modules node scripts/har/validate.js FILE...
// Prints "ok FILE" or "FAIL FILE: errors" per file; exit status 1 if any failed.
const validator = require('har-validator');
const fs = require('fs');
let bad = 0;
(async () => {
  for (const f of process.argv.slice(2)) {
    try {
      await validator.har(JSON.parse(fs.readFileSync(f, 'utf8')));
      console.log('ok ' + f);
    } catch (e) {
      bad++;
      console.log('FAIL ' + f + ': ' + JSON.stringify(e.errors || e.message));
    }
  }
  process.exit(bad ? 1 : 0);
})();
