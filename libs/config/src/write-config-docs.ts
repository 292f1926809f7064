/** `npm run config:docs`: rewrites `.env.example` and `docs/configuration.md` from the variable table. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigurationTable, renderEnvExample } from './config.docs';

const root = process.cwd();
mkdirSync(join(root, 'docs'), { recursive: true });
writeFileSync(join(root, '.env.example'), renderEnvExample());
writeFileSync(join(root, 'docs', 'configuration.md'), renderConfigurationTable());
process.stdout.write('wrote .env.example and docs/configuration.md\n');
