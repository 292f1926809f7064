/** The last step of `npm run build`: the embedded database's data-folder template (see pgdata-template.ts). */
import { writePgdataTemplate } from './pgdata-template';

writePgdataTemplate().then(
  ({ path, written }) => process.stdout.write(`${written ? 'wrote' : 'kept'} ${path}\n`),
  (error: Error) => {
    process.stderr.write(`could not write the embedded database template: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
