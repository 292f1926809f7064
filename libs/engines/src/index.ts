export { AuthStateStore } from './auth-state.store';
export type { SignalKeyType } from './auth-state.store';
export { StaleEpochError } from './auth-state.errors';
export type { AuthenticationCreds, AuthenticationState, SignalDataSet, SignalDataTypeMap } from 'baileys';
