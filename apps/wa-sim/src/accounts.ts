import { randomInt } from 'node:crypto';
import { Curve, type KeyPair } from 'baileys';
import type { DeviceKeyBundle } from './key-bundle';

/** A companion device linked to an account, as the phone registered it at pairing time. */
export interface LinkedDevice {
  device: number;
  /** The companion's signed identity key, as it was in the QR it scanned. */
  identityKey: Buffer;
  /** Pre-keys the device has uploaded and nobody has used yet; Baileys asks for the count at each login. */
  preKeyCount: number;
  /** Its uploaded keys, for senders to open sessions to it; absent until its first upload. */
  keyBundle?: DeviceKeyBundle;
}

/** A WhatsApp account as the phone owns it: its number, its LID, and the key that signs its devices. */
export interface Account {
  phone: string;
  lid: string;
  accountKeyPair: KeyPair;
  devices: Map<number, LinkedDevice>;
  /** The highest device number ever linked, so an unlinked device's number is not reused. */
  lastDevice: number;
  /** Logins that replaced a live connection of this account. */
  conflicts: number;
}

/** Accounts live only in memory: a restarted sim is a fresh WhatsApp, and every device must pair again. */
export class AccountRegistry {
  private readonly byPhone = new Map<string, Account>();

  find(phone: string): Account | undefined {
    return this.byPhone.get(phone);
  }

  findDevice(phone: string, device: number): LinkedDevice | undefined {
    return this.byPhone.get(phone)?.devices.get(device);
  }

  /**
   * The phone side of a number: created the first time a phone with that number links a companion.
   * `accountKeyPair` is for a key the phone already showed a companion (the code exchange does).
   */
  ensure(phone: string, accountKeyPair: KeyPair = Curve.generateKeyPair()): Account {
    let account = this.byPhone.get(phone);
    if (!account) {
      account = { phone, lid: randomLid(), accountKeyPair, devices: new Map(), lastDevice: 0, conflicts: 0 };
      this.byPhone.set(phone, account);
    }
    return account;
  }

  /** Device 0 is the phone itself, so companions count from 1, never reusing a number. */
  linkDevice(account: Account, identityKey: Buffer): LinkedDevice {
    const device = ++account.lastDevice;
    const linked: LinkedDevice = { device, identityKey, preKeyCount: 0 };
    account.devices.set(device, linked);
    return linked;
  }

  /** The phone unlinks a companion; its number is never handed out again. */
  unlinkDevice(account: Account, device: number): void {
    account.devices.delete(device);
  }

  list(): Account[] {
    return [...this.byPhone.values()];
  }
}

/** LIDs are opaque numeric ids, unrelated to the phone number. */
export function randomLid(): string {
  return `${randomInt(1, 10)}${String(randomInt(0, 1e9)).padStart(9, '0')}${String(randomInt(0, 1e5)).padStart(5, '0')}`;
}
