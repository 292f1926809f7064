import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigurationTable, renderEnvExample, VARIABLES } from '@wafleet/config';

const read = (path: string) => readFileSync(join(process.cwd(), path), 'utf8');

describe('configuration docs', () => {
  it('.env.example lists every variable, as generated (run `npm run config:docs` after changing libs/config)', () => {
    expect(read('.env.example')).toBe(renderEnvExample());
    for (const spec of VARIABLES) expect(read('.env.example')).toContain(`# ${spec.name}=`);
  });

  it('docs/configuration.md holds the table, as generated, and the README links it', () => {
    expect(read('docs/configuration.md')).toBe(renderConfigurationTable());
    for (const spec of VARIABLES) expect(read('docs/configuration.md')).toContain(`| \`${spec.name}\` |`);
    expect(read('README.md')).toContain('(docs/configuration.md)');
  });

  it('nothing but libs/config and the apps\' entry points reads process.env', () => {
    const hits = execFileSync('grep', ['-rl', '--include=*.ts', 'process\\.env', 'libs', 'apps'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    // main.ts hands process.env to loadConfig: finding it shows the search itself works.
    expect(hits).toContain('apps/api/src/main.ts');
    const entryPoint = /^apps\/[a-z-]+\/src\/main\.ts$/;
    expect(hits.filter((file) => !file.startsWith('libs/config/') && !file.endsWith('.spec.ts') && !entryPoint.test(file))).toEqual([]);
  });
});
