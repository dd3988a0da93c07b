// Where committed events go live, in one process: its writer publishes the events it commits,
// and the relay (relay.ts) those other processes commit to the runs they execute.
import { EventEmitter } from 'node:events';
import type { RunEventMessage, RunFeedMessage } from './types.js';

export interface EventBus {
  /** Called only after the events are committed to the log, in seq order. */
  publish(events: readonly RunEventMessage[]): void;
  publishFeed(message: RunFeedMessage): void;
  subscribe(runId: string, listener: (event: RunEventMessage) => void): () => void;
  subscribeFeed(listener: (message: RunFeedMessage) => void): () => void;
}

export function createInProcessBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0); // every open monitor tab is a listener
  return {
    publish(events) {
      for (const e of events) emitter.emit(`run:${e.runId}`, e);
    },
    publishFeed(message) {
      emitter.emit('feed', message);
    },
    subscribe(runId, listener) {
      emitter.on(`run:${runId}`, listener);
      return () => emitter.off(`run:${runId}`, listener);
    },
    subscribeFeed(listener) {
      emitter.on('feed', listener);
      return () => emitter.off('feed', listener);
    },
  };
}
