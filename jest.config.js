/**
 * Jest in ESM mode (Nest 12 is ESM-only): ts-jest emits ES modules and node runs them with
 * --experimental-vm-modules (set by the npm scripts). Unit specs sit beside the code; test/ holds
 * integration (real PostgreSQL), e2e (the built server as a real process) and infra checks.
 */
module.exports = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleNameMapper: { '^@wafleet/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts' },
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.spec.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
