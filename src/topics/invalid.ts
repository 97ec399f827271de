/** A topic the gateway cannot use; the message says why, in words an operator can act on. */
export class TopicInvalid extends Error {
  override name = 'TopicInvalid';
}
