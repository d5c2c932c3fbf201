import NIOCore
import NIOEmbedded
import Testing
@testable import SIPTransport

/// Answers written during one pass of the event loop leave together, and a close never loses
/// what was written before it.
@Suite("Flush coalescing")
struct FlushCoalescingHandlerTests {
    @Test func writesFlushedInOnePassLeaveTogetherAtTheEndOfThePass() throws {
        let channel = EmbeddedChannel(handler: FlushCoalescingHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5060)).wait()
        channel.writeAndFlush(ByteBuffer(string: "first"), promise: nil)
        channel.writeAndFlush(ByteBuffer(string: "second"), promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "first"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "second"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test func aCloseFlushesWhatWasWrittenBeforeIt() throws {
        let channel = EmbeddedChannel(handler: FlushCoalescingHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5060)).wait()
        channel.writeAndFlush(ByteBuffer(string: "SIP/2.0 400 Bad Request"), promise: nil)
        channel.close(promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "SIP/2.0 400 Bad Request"))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }
}
