import { TenantsAndApiKeys1763848800000 } from './1763848800000-tenants-and-api-keys';
import { SessionsAndAuthState1763900000000 } from './1763900000000-sessions-and-auth-state';
import { SessionHandoffs1764000000000 } from './1764000000000-session-handoffs';
import { SessionEvents1764100000000 } from './1764100000000-session-events';
import { MessagesAndChats1764200000000 } from './1764200000000-messages-and-chats';
import { Webhooks1764300000000 } from './1764300000000-webhooks';
import { Billing1764400000000 } from './1764400000000-billing';
import { Campaigns1764500000000 } from './1764500000000-campaigns';
import { Retention1764600000000 } from './1764600000000-retention';
import { MessageLinks1764700000000 } from './1764700000000-message-links';
import { InboundStanzas1764800000000 } from './1764800000000-inbound-stanzas';

/** Every migration, oldest first. The same list runs on PGlite and PostgreSQL. */
export const MIGRATIONS = [
  TenantsAndApiKeys1763848800000,
  SessionsAndAuthState1763900000000,
  SessionHandoffs1764000000000,
  SessionEvents1764100000000,
  MessagesAndChats1764200000000,
  Webhooks1764300000000,
  Billing1764400000000,
  Campaigns1764500000000,
  Retention1764600000000,
  MessageLinks1764700000000,
  InboundStanzas1764800000000,
];
