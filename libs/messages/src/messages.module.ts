import { Module } from '@nestjs/common';
import { BillingModule } from '@wafleet/billing';
import { SessionsModule } from '@wafleet/sessions';
import { MessageChanges } from './message-changes';
import { MessageDispatcher } from './message-dispatcher';
import { MessageIntake } from './message-intake';
import { MessageOwner } from './message-owner';
import { MessageStore } from './message-store';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';

/** Sending, storing and receiving messages; status tracking and waiting; chats. */
@Module({
  imports: [SessionsModule, BillingModule],
  controllers: [MessagesController],
  providers: [MessageStore, MessageChanges, MessageIntake, MessageOwner, MessageDispatcher, MessagesService],
  exports: [MessagesService, MessageDispatcher],
})
export class MessagesModule {}
