export { MessagesModule } from './messages.module';
export { MessagesService } from './messages.service';
export type { MessageView } from './message.view';
